resource "streamkap_source_postgresql" "app" {
  database_hostname = "app-db.internal.example"
  database_password = "s3cr3t-inline-value"
  table_include_list = "public.orders"

