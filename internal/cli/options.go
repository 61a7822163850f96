package cli

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// An option is one setting of a command, declared once: its flag, its
// config file key, its default and its help. The rest is derived from the
// declaration: the flag set (and so --help), the keys a config file may
// hold (any other is an error), and the precedence: the default, then the
// config file, then the flags given on the command line. Adding an option is
// one table entry, as golangci-lint binds each flag to its config key in one
// call; options_test.go checks each entry has a flag and help, and a key
// that is its flag in snake case.
//
// D is what the options fill: checkOptions for check's (checkOptionTable),
// fixFlags for fix's own (fixOptionTable).
type option[D any] struct {
	flag  string // its name, without the dashes
	short string // its one-letter form, or ""
	key   string // its config file key; "" when only the flag sets it
	help  string
	value value[D]   // its type, default and destination: to(kind, default, set)
	errs  errSubject // what its errors already name; namesValue unless said
	// runWide options shape the whole run (its reports, its threshold, its
	// concurrency): with --targets a target may not set them. Every other
	// option with a key is a target's to override (see perTarget).
	runWide bool
	// fleet options only mean something to a fleet check: fix and demo,
	// which share check's table, hide them from their --help (and refuse
	// them with a message saying where they belong).
	fleet bool
	// check, when set, judges the value once every source has been applied,
	// so that a file's value a flag overrides is never judged.
	check func(*D) error
}

// options is a command's option table, in the order --help lists them.
// Values are applied in that order too: when several are bad at once, the
// first in the table is the one reported.
type options[D any] []option[D]

// errSubject is what an option's errors already name, which decides the
// context a bad value's message gets, so that it names the flag or key once.
type errSubject int

const (
	// namesValue errors name the value alone (`"lots" is not a size`): a
	// flag's gets "--flag: " before it, a file's "config PATH: key: ".
	namesValue errSubject = iota
	// namesFlag errors name the flag too (`--fail-on "x": want …`), as
	// they always have, in the config file as well: a flag's is said as it
	// is, a file's gets "config PATH: key: ".
	namesFlag
	// namesFile errors name a file of their own and its line (a tables
	// file's): a flag's is said as it is, a file's gets "config PATH: ".
	namesFile
)

func (o *option[D]) flagErr(err error) error {
	if o.errs == namesValue {
		return fmt.Errorf("--%s: %w", o.flag, err)
	}
	return err
}

func (o *option[D]) fileErr(path string, err error) error {
	if o.errs == namesFile {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return fmt.Errorf("config %s: %s: %w", path, o.key, err)
}

// define adds every option's flag to fs.
func (t options[D]) define(fs *pflag.FlagSet) {
	for i := range t {
		t[i].value.define(fs, &t[i])
	}
}

// hideFleet hides the fleet options' flags from fs's usage: they stay
// defined so that fix or demo given --targets can say it is check's.
func (t options[D]) hideFleet(fs *pflag.FlagSet) {
	for i := range t {
		if t[i].fleet {
			_ = fs.MarkHidden(t[i].flag) // defined by define: cannot fail
		}
	}
}

// defaults is D before any config file or flag.
func (t options[D]) defaults() (D, error) {
	var d D
	for i := range t {
		if err := t[i].value.setDefault(&d); err != nil {
			return d, fmt.Errorf("internal error: the default of --%s: %w", t[i].flag, err)
		}
	}
	return d, nil
}

// byKey is the option a config file key sets, or nil.
func (t options[D]) byKey(key string) *option[D] {
	for i := range t {
		if t[i].key != "" && t[i].key == key {
			return &t[i]
		}
	}
	return nil
}

// applyFile sets what a config file set: values holds, by key, what its
// options' kinds decoded (see loadConfig).
func (t options[D]) applyFile(path string, values map[string]any, d *D) error {
	for i := range t {
		o := &t[i]
		if v, ok := values[o.key]; ok && o.key != "" {
			if err := o.value.set(d, v); err != nil {
				return o.fileErr(path, err)
			}
		}
	}
	return nil
}

// applyFlags sets what the command line set: a flag overrides the config
// file only when it was given, never with its default. Every flag given is
// read before any is set, as a config file's values are all decoded first,
// so a value that cannot be read is reported before one that is refused.
func (t options[D]) applyFlags(fs *pflag.FlagSet, d *D) error {
	given := make(map[int]any)
	for i := range t {
		if o := &t[i]; fs.Changed(o.flag) {
			v, err := o.value.flag(fs, o.flag)
			if err != nil {
				return o.flagErr(err)
			}
			given[i] = v
		}
	}
	for i := range t {
		if v, ok := given[i]; ok {
			if err := t[i].value.set(d, v); err != nil {
				return t[i].flagErr(err)
			}
		}
	}
	return nil
}

// check judges the merged values.
func (t options[D]) check(d *D) error {
	for i := range t {
		if c := t[i].check; c != nil {
			if err := c(d); err != nil {
				return err
			}
		}
	}
	return nil
}

// fromFlags is D from the defaults and the flags, for options no config
// file sets.
func (t options[D]) fromFlags(fs *pflag.FlagSet) (D, error) {
	d, err := t.defaults()
	if err == nil {
		err = t.applyFlags(fs, &d)
	}
	if err == nil {
		err = t.check(&d)
	}
	return d, err
}

// value is an option's type, default and destination, with the type hidden
// so that one table holds options of every type.
type value[D any] interface {
	define(fs *pflag.FlagSet, o *option[D])
	setDefault(d *D) error
	// flag is the flag's value, as its kind reads it.
	flag(fs *pflag.FlagSet, name string) (any, error)
	// decode is a config file's value, as its kind reads it; ok is false
	// when the file leaves the option unset. A *yaml.TypeError is a value
	// of the wrong YAML type; any other error, a value the kind rejects.
	decode(n *yaml.Node) (v any, ok bool, err error)
	// set stores what flag or decode returned.
	set(d *D, v any) error
}

// to declares an option's value: its kind, its default, and set, which
// stores a value in D and rejects a bad one. set sees the default first,
// then the config file's value, then the flag's; a zero default is not
// set, so an option nobody sets stays D's zero value. A nil set is an
// option the command reads from the flag set itself (--config).
func to[D, T any](k kind[T], def T, set func(*D, T) error) value[D] {
	return typed[D, T]{kind: k, def: def, store: set}
}

// field is the set of a value that is stored as it is.
func field[D, T any](p func(*D) *T) func(*D, T) error {
	return func(d *D, v T) error {
		*p(d) = v
		return nil
	}
}

type typed[D, T any] struct {
	kind  kind[T]
	def   T
	store func(*D, T) error
}

func (t typed[D, T]) define(fs *pflag.FlagSet, o *option[D]) {
	t.kind.define(fs, o.flag, o.short, t.def, o.help)
}

func (t typed[D, T]) setDefault(d *D) error {
	if reflect.ValueOf(&t.def).Elem().IsZero() {
		return nil
	}
	return t.set(d, t.def)
}

func (t typed[D, T]) flag(fs *pflag.FlagSet, name string) (any, error) {
	return t.kind.get(fs, name)
}

func (t typed[D, T]) decode(n *yaml.Node) (any, bool, error) {
	return t.kind.decode(n)
}

func (t typed[D, T]) set(d *D, v any) error {
	if t.store == nil {
		return nil
	}
	return t.store(d, v.(T))
}

// A kind is a type of value and how it is spelt: as a flag, by a pflag
// type, which also decides how --help shows the flag and its default; and
// in the config file, by a YAML type, where an empty value leaves the
// option unset (as a flag that is not given does).
type kind[T any] struct {
	define func(fs *pflag.FlagSet, name, short string, def T, help string)
	get    func(fs *pflag.FlagSet, name string) (T, error)
	decode func(n *yaml.Node) (v T, ok bool, err error)
}

var (
	text = kind[string]{
		define: func(fs *pflag.FlagSet, name, short, def, help string) { fs.StringP(name, short, def, help) },
		get:    (*pflag.FlagSet).GetString,
		decode: func(n *yaml.Node) (string, bool, error) {
			s, err := decodeAs[string](n)
			return s, s != "", err
		},
	}
	boolean = kind[bool]{
		define: func(fs *pflag.FlagSet, name, short string, def bool, help string) { fs.BoolP(name, short, def, help) },
		get:    (*pflag.FlagSet).GetBool,
		decode: func(n *yaml.Node) (bool, bool, error) {
			b, err := decodeAs[*bool](n)
			return b != nil && *b, b != nil, err
		},
	}
	duration = kind[time.Duration]{
		define: func(fs *pflag.FlagSet, name, short string, def time.Duration, help string) {
			fs.DurationP(name, short, def, help)
		},
		get: (*pflag.FlagSet).GetDuration,
		// A string, parsed as the flag is: yaml.v3's own durations would
		// word a bad one differently.
		decode: func(n *yaml.Node) (time.Duration, bool, error) {
			s, err := decodeAs[string](n)
			if err != nil || s == "" {
				return 0, false, err
			}
			d, err := time.ParseDuration(s)
			return d, true, err
		},
	}
	// number is a whole number (a port).
	number = kind[int]{
		define: func(fs *pflag.FlagSet, name, short string, def int, help string) { fs.IntP(name, short, def, help) },
		get:    (*pflag.FlagSet).GetInt,
		decode: func(n *yaml.Node) (int, bool, error) {
			v, err := decodeAs[*int](n)
			if v == nil {
				return 0, false, err
			}
			return *v, true, err
		},
	}
	// size is a byte count written as PostgreSQL's memory units are. Its
	// flag is a string, so that --help shows the default as a person types
	// it ("256MB").
	size = kind[int64]{
		define: func(fs *pflag.FlagSet, name, short string, def int64, help string) {
			fs.StringP(name, short, formatSize(def), help)
		},
		get: func(fs *pflag.FlagSet, name string) (int64, error) {
			s, err := fs.GetString(name)
			if err != nil {
				return 0, err
			}
			return parseSize(s)
		},
		decode: func(n *yaml.Node) (int64, bool, error) {
			s, err := decodeAs[string](n)
			if err != nil || s == "" {
				return 0, false, err
			}
			v, err := parseSize(s)
			return v, true, err
		},
	}
	// list is comma-separated on the command line (--tables a,b --tables c).
	list = kind[[]string]{
		define: func(fs *pflag.FlagSet, name, short string, def []string, help string) {
			fs.StringSliceP(name, short, def, help)
		},
		get:    (*pflag.FlagSet).GetStringSlice,
		decode: decodeStrings,
	}
	// repeated takes each flag whole, commas included (-o json -o junit=a,b.xml).
	repeated = kind[[]string]{
		define: func(fs *pflag.FlagSet, name, short string, def []string, help string) {
			fs.StringArrayP(name, short, def, help)
		},
		get:    (*pflag.FlagSet).GetStringArray,
		decode: decodeStrings,
	}
)

func decodeStrings(n *yaml.Node) ([]string, bool, error) {
	v, err := decodeAs[[]string](n)
	return v, len(v) > 0, err
}

// decodeAs decodes a config file's value as yaml.v3 decodes a struct field
// of type Y, so that a value of the wrong type is worded as it always was.
func decodeAs[Y any](n *yaml.Node) (Y, error) {
	var v Y
	err := n.Decode(&v)
	return v, err
}

// sizeUnits are the units of a size, largest first: powers of 1024, as
// PostgreSQL's memory units are.
var sizeUnits = []struct {
	suffix string
	mult   int64
}{{"TB", 1 << 40}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"B", 1}}

// parseSize reads a byte size: 1048576, 512kB, 256MB, 1GB, 2TB.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range sizeUnits {
		if rest, ok := strings.CutSuffix(strings.ToUpper(t), u.suffix); ok {
			t, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size (e.g. 256MB, 1GB)", s)
	}
	return n * mult, nil
}

// formatSize writes n as parseSize reads it, in the largest unit that
// divides it: 256<<20 is "256MB".
func formatSize(n int64) string {
	for _, u := range sizeUnits {
		if n >= u.mult && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// oneOf lists choices as a sentence does: "a, b or c".
func oneOf[S any](choices []S) string {
	var b strings.Builder
	for i, c := range choices {
		switch {
		case i == 0:
		case i == len(choices)-1:
			b.WriteString(" or ")
		default:
			b.WriteString(", ")
		}
		fmt.Fprint(&b, c)
	}
	return b.String()
}
