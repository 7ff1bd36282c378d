package connectors

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Field describes one configuration field of a connector kind. Specs are read from the config
// struct's tags, so the documentation cannot drift from the code:
//
//	Path string `yaml:"path" required:"true" desc:"The file to read."`
//	Key  string `yaml:"key" secret:"true" desc:"Bearer key; ${ENV} reads it from the environment."`
//	Rate int    `yaml:"rate" default:"0" desc:"Records per second; 0 is unlimited."`
//
// Nested structs become dotted names (retry.max_attempts). Fields without a yaml tag, or tagged
// yaml:"-", are not configuration.
type Field struct {
	Name        string // dotted YAML path inside the block
	Type        string // string, int, number, bool, duration, list, map, object
	Default     string
	Required    bool
	Secret      bool   // never logged or printed; write "${VAR}" to read it from the environment
	Description string // English
}

// SpecOf lists the configuration fields of cfg, a pointer to a tagged struct, in declaration
// order.
func SpecOf(cfg any) []Field {
	return specOf(reflect.TypeOf(cfg).Elem(), "")
}

func specOf(t reflect.Type, prefix string) []Field {
	var out []Field
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		if sf.Type.Kind() == reflect.Struct && sf.Type != durationType && sf.Tag.Get("desc") == "" {
			out = append(out, specOf(sf.Type, prefix+name+".")...)
			continue
		}
		out = append(out, Field{
			Name:        prefix + name,
			Type:        typeName(sf.Type),
			Default:     sf.Tag.Get("default"),
			Required:    sf.Tag.Get("required") == "true",
			Secret:      sf.Tag.Get("secret") == "true",
			Description: sf.Tag.Get("desc"),
		})
	}
	return out
}

var durationType = reflect.TypeOf(time.Duration(0))

func typeName(t reflect.Type) string {
	switch {
	case t == durationType:
		return "duration"
	case t.Kind() == reflect.String:
		return "string"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "int"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "number"
	case t.Kind() == reflect.Bool:
		return "bool"
	case t.Kind() == reflect.Slice:
		return "list"
	case t.Kind() == reflect.Map:
		return "map"
	default:
		return "object"
	}
}

// Prepare applies the default tag to every zero field of cfg (a pointer to a tagged struct),
// replaces string fields written as "${VAR}" (the whole value) with the environment variable's
// value, which is how secrets stay out of connector files, and checks
// required fields. It reports every problem at once; fields are named with prefix (e.g.
// "source.").
func Prepare(cfg any, prefix string) error {
	return prepare(reflect.ValueOf(cfg).Elem(), prefix)
}

func prepare(v reflect.Value, prefix string) error {
	var errs []error
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		fv := v.Field(i)
		if sf.Type.Kind() == reflect.Struct && sf.Type != durationType && sf.Tag.Get("desc") == "" {
			errs = append(errs, prepare(fv, prefix+name+"."))
			continue
		}
		if def := sf.Tag.Get("default"); def != "" && fv.IsZero() {
			if err := setFromString(fv, def); err != nil {
				panic(fmt.Sprintf("connectors: bad default tag on %s%s: %v", prefix, name, err)) // programming error
			}
		}
		if fv.Kind() == reflect.String {
			s := fv.String()
			if strings.HasPrefix(s, "${") && strings.HasSuffix(s, "}") {
				env := s[2 : len(s)-1]
				val, ok := os.LookupEnv(env)
				if !ok || val == "" {
					errs = append(errs, fmt.Errorf("%s%s: 环境变量 %s 未设置 (environment variable %s is not set)", prefix, name, env, env))
					continue
				}
				fv.SetString(val)
			}
		}
		if sf.Tag.Get("required") == "true" && fv.IsZero() {
			errs = append(errs, fmt.Errorf("%s%s: 必填 (required)", prefix, name))
		}
	}
	return errors.Join(errs...)
}

func setFromString(v reflect.Value, s string) error {
	switch {
	case v.Type() == durationType:
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		v.SetString(s)
	case v.Kind() >= reflect.Int && v.Kind() <= reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return err
		}
		v.SetInt(n)
	case v.Kind() == reflect.Float64 || v.Kind() == reflect.Float32:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return err
		}
		v.SetFloat(f)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		v.Set(reflect.ValueOf(strings.Split(s, ",")))
	default:
		return fmt.Errorf("no default for %s", v.Type())
	}
	return nil
}
