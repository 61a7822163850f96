variable "db_password" {
  type      = string
  sensitive = true
}

variable "bastion_host" {
  type = string
}

resource "streamkap_source_postgresql" "app" {
  name              = "app-postgres"
  database_hostname = "app-db.internal.example"
  database_port     = 5432
  database_user     = "streamkap_user"
  database_password = var.db_password
  database_dbname   = "app"
  database_sslmode  = "require"

  snapshot_read_only  = "No"
  schema_include_list = "public"
  table_include_list  = "public.orders,public.customers"
  signal_data_collection_schema_or_database = "streamkap"

  heartbeat_enabled                            = true
  heartbeat_data_collection_schema_or_database = "streamkap"

  slot_name        = "streamkap_pgoutput_slot"
  publication_name = "streamkap_pub"

  ssh_enabled = true
  ssh_host    = var.bastion_host
  ssh_port    = "22"
  ssh_user    = "streamkap"
}
