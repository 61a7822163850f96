package facts

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestEverySectionWithAnErrIsNamed: a part of Facts that records its own
// failure (an Err field) is a Section named by its JSON key, and
// SectionErr returns that Err, so that a rule can need it.
func TestEverySectionWithAnErrIsNamed(t *testing.T) {
	var f Facts
	v := reflect.ValueOf(&f).Elem()
	named := map[Section]bool{SectionConnect: true, SectionTarget: true}
	for i := range v.NumField() {
		field := v.Type().Field(i)
		if field.Type.Kind() != reflect.Struct {
			continue
		}
		if errField, ok := field.Type.FieldByName("Err"); !ok || len(errField.Index) != 1 {
			continue // no Err of its own (an embedded Probe's is a verdict, not a missing fact)
		}
		s := Section(strings.Split(field.Tag.Get("json"), ",")[0])
		if s == SectionConnect {
			continue // its Err is the cause SectionErr reports (TestMissing)
		}
		named[s] = true
		if !slices.Contains(Sections, s) {
			t.Errorf("Facts.%s has an Err but no Section %q in Sections", field.Name, s)
			continue
		}
		e := &Error{Op: "read " + field.Name, Message: "broken"}
		v.Field(i).FieldByName("Err").Set(reflect.ValueOf(e))
		if got := f.SectionErr(s); got != e {
			t.Errorf("SectionErr(%q) = %v, want Facts.%s.Err", s, got, field.Name)
		}
	}
	for _, s := range Sections {
		if !named[s] {
			t.Errorf("Section %q names no part of Facts with an Err", s)
		}
	}
	if got := f.SectionErr("nonsense"); got == nil {
		t.Error("an unknown section must not read as gathered")
	}
}

// TestMissing: without the catalog connection every section but the
// target is missing, with the connection's cause.
func TestMissing(t *testing.T) {
	var f Facts
	if got := f.Missing(SectionServer); got.Error() != "gather: no connection was attempted" {
		t.Errorf("not attempted: %v", got)
	}
	if got := f.Missing(SectionTarget); got != nil {
		t.Errorf("the target needs no connection: %v", got)
	}
	f.Connect = Probe{Attempted: true, Err: &Error{Op: "connect", Message: "refused", SQLState: "28P01"}}
	f.Server.Err = &Error{Op: "read server", Message: "denied"}
	if got := f.Missing(SectionServer); got.Error() != "could not connect: refused (SQLSTATE 28P01)" {
		t.Errorf("connection failed: %v", got)
	}
	f.Connect.Err = nil
	if got := f.Missing(SectionServer); got != f.Server.Err {
		t.Errorf("connected: %v", got)
	}
	if got := f.Missing(SectionSettings); got != nil {
		t.Errorf("gathered: %v", got)
	}
}
