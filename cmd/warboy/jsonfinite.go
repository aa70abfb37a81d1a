package main

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
)

// JSON has no NaN or infinity, so encoding/json refuses a report holding one (a model
// output of log(0), a sim run under an extreme --profile). writeJSON then writes the
// report again through finiteJSON, which writes every non-finite float as null and
// everything else as encoding/json does (field order, tags, omitempty, Marshalers):
// a report that holds only finite numbers is written byte for byte as before.

// finiteJSON returns v as JSON with non-finite floats written as null.
func finiteJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := writeFinite(&b, reflect.ValueOf(v)); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

func writeFinite(b *bytes.Buffer, v reflect.Value) error {
	if !v.IsValid() {
		b.WriteString("null")
		return nil
	}
	t := v.Type()
	if t.Implements(jsonMarshaler) || t.Implements(textMarshaler) ||
		(v.CanAddr() && (reflect.PointerTo(t).Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(textMarshaler))) {
		if (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && v.IsNil() {
			b.WriteString("null")
			return nil
		}
		return leafJSON(b, v)
	}
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			b.WriteString("null")
			return nil
		}
		return leafJSON(b, v)
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			b.WriteString("null")
			return nil
		}
		return writeFinite(b, v.Elem())
	case reflect.Struct:
		b.WriteByte('{')
		first := true
		if err := writeFields(b, v, &first); err != nil {
			return err
		}
		b.WriteByte('}')
		return nil
	case reflect.Map:
		if v.IsNil() {
			b.WriteString("null")
			return nil
		}
		type kv struct {
			key string
			val reflect.Value
		}
		var items []kv
		for it := v.MapRange(); it.Next(); {
			k, err := json.Marshal(it.Key().Interface())
			if err != nil {
				return err
			}
			ks := string(k)
			if !strings.HasPrefix(ks, `"`) {
				ks = `"` + ks + `"` // integer keys are quoted, as encoding/json does
			}
			items = append(items, kv{ks, it.Value()})
		}
		sort.Slice(items, func(i, j int) bool { return items[i].key < items[j].key })
		b.WriteByte('{')
		for i, it := range items {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(it.key)
			b.WriteByte(':')
			if err := writeFinite(b, it.val); err != nil {
				return err
			}
		}
		b.WriteByte('}')
		return nil
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			b.WriteString("null")
			return nil
		}
		if t.Elem().Kind() == reflect.Uint8 {
			return leafJSON(b, v) // []byte is base64
		}
		b.WriteByte('[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeFinite(b, v.Index(i)); err != nil {
				return err
			}
		}
		b.WriteByte(']')
		return nil
	}
	return leafJSON(b, v)
}

// writeFields writes the exported fields of struct v (embedded structs' fields
// inline, as encoding/json does).
func writeFields(b *bytes.Buffer, v reflect.Value, first *bool) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		fv := v.Field(i)
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				if fv.IsNil() {
					continue
				}
				fv, ft = fv.Elem(), ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if err := writeFields(b, fv, first); err != nil {
					return err
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if strings.Contains(","+opts+",", ",omitempty,") && isEmptyJSON(fv) {
			continue
		}
		if !*first {
			b.WriteByte(',')
		}
		*first = false
		k, _ := json.Marshal(name)
		b.Write(k)
		b.WriteByte(':')
		if strings.Contains(","+opts+",", ",string,") {
			if err := leafJSON(b, fv); err != nil {
				return err
			}
			continue
		}
		if err := writeFinite(b, fv); err != nil {
			return err
		}
	}
	return nil
}

func isEmptyJSON(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

// leafJSON writes v with encoding/json; a Marshaler that still fails on a non-finite
// number is reported as such.
func leafJSON(b *bytes.Buffer, v reflect.Value) error {
	if !v.CanInterface() {
		b.WriteString("null")
		return nil
	}
	out, err := json.Marshal(v.Interface())
	if err != nil {
		var uv *json.UnsupportedValueError
		if errors.As(err, &uv) {
			return fmt.Errorf("the report holds a number JSON cannot represent (%s)", uv.Str)
		}
		return err
	}
	b.Write(out)
	return nil
}
