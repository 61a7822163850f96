package sqlident

import "testing"

func TestQuote(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"orders", "orders"},
		{"order_items2", "order_items2"},
		{"Order Items", `"Order Items"`},
		{"Orders", `"Orders"`},
		{`x"; DROP TABLE y; --`, `"x""; DROP TABLE y; --"`},
		{"user", `"user"`},
		{"select", `"select"`},
		{"name", "name"}, // unreserved: quote_ident leaves it bare
		{"1abc", `"1abc"`},
		{"ab$c", `"ab$c"`}, // quote_ident quotes a $, though the parser would take it bare
		{"café", `"café"`},
		{"", `""`},
	} {
		if got := Quote(tc.in); got != tc.want {
			t.Errorf("Quote(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestQualifiedAndLiteral(t *testing.T) {
	if got := Qualified("public", "Order Items"); got != `public."Order Items"` {
		t.Errorf("Qualified = %s", got)
	}
	if got := Literal("it's"); got != `'it''s'` {
		t.Errorf("Literal = %s", got)
	}
	if got := Literal(`a\'b`); got != `E'a\\''b'` {
		t.Errorf("Literal with backslash = %s", got)
	}
}
