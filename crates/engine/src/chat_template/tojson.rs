//! The `tojson` filter as HF transformers defines it for chat templates: Python's
//! `json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)`.
//!
//! minijinja's own `tojson` is HTML-safe (it writes `<` as `\u003c`) and compact (`{"a":1}`),
//! while Python writes `{"a": 1}` and leaves `<` alone, so tool-calling templates would
//! render differently from HF without this.

use std::fmt::Write;

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Error, ErrorKind};

/// Nesting deeper than this is refused rather than recursed into.
const MAX_DEPTH: usize = 64;
/// Longest `indent` string or separator: they are repeated at every item, so a long one is an
/// output bomb; real templates use a few spaces or `", "`.
const MAX_SEPARATOR: usize = 64;

struct Options {
    indent: Option<String>,
    item_separator: String,
    key_separator: String,
    ensure_ascii: bool,
    sort_keys: bool,
}

/// `value | tojson(indent=…, ensure_ascii=…, separators=…, sort_keys=…)`.
pub fn tojson(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let indent = match kwargs.get::<Option<Value>>("indent")? {
        None => None,
        Some(v) if v.is_none() => None,
        Some(v) => Some(match v.as_str() {
            // Repeated at every line: a long one multiplies the output (found by fuzzing).
            Some(s) if s.len() > MAX_SEPARATOR => return Err(invalid("indent")),
            Some(s) => s.to_owned(),
            None => " ".repeat(usize::try_from(v).map_err(|_| invalid("indent"))?.min(64)),
        }),
    };
    let separators: Option<Value> = kwargs.get("separators")?;
    let (item_separator, key_separator) = match separators.filter(|v| !v.is_none()) {
        Some(pair) => {
            let item = pair.get_item_by_index(0)?;
            let key = pair.get_item_by_index(1)?;
            match (item.as_str(), key.as_str()) {
                (Some(i), Some(k)) if i.len().max(k.len()) <= MAX_SEPARATOR => {
                    (i.to_owned(), k.to_owned())
                }
                _ => return Err(invalid("separators")),
            }
        }
        // Python's defaults: no space before a newline when indenting.
        None if indent.is_some() => (",".to_owned(), ": ".to_owned()),
        None => (", ".to_owned(), ": ".to_owned()),
    };
    let options = Options {
        indent,
        item_separator,
        key_separator,
        ensure_ascii: kwargs.get::<Option<bool>>("ensure_ascii")?.unwrap_or(false),
        sort_keys: kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(false),
    };
    kwargs.assert_all_used()?;
    let mut out = String::new();
    write_value(&mut out, value, &options, 0)?;
    Ok(Value::from(out))
}

fn invalid(what: &str) -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!("tojson: invalid {what}"),
    )
}

fn write_value(out: &mut String, value: &Value, o: &Options, depth: usize) -> Result<(), Error> {
    if depth > MAX_DEPTH {
        return Err(invalid("value (nested too deeply)"));
    }
    // Nested sequences multiply: each level is bounded below, the whole text here.
    if out.len() > super::MAX_OUTPUT_BYTES {
        return Err(invalid("value (its JSON is too large)"));
    }
    match value.kind() {
        ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if value.is_true() { "true" } else { "false" }),
        ValueKind::Number => write_number(out, value)?,
        ValueKind::String => write_string(out, value.as_str().unwrap_or_default(), o),
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<Value> = value.try_iter()?.take(super::MAX_ITEMS + 1).collect();
            if items.len() > super::MAX_ITEMS {
                return Err(invalid("value (a sequence is too long)"));
            }
            write_container(out, ('[', ']'), items.len(), o, depth, |out, i| {
                items
                    .get(i)
                    .map_or(Ok(()), |item| write_value(out, item, o, depth + 1))
            })?;
        }
        ValueKind::Map => {
            let mut keys: Vec<Value> = value.try_iter()?.take(super::MAX_ITEMS + 1).collect();
            if keys.len() > super::MAX_ITEMS {
                return Err(invalid("value (a map is too large)"));
            }
            if o.sort_keys {
                keys.sort();
            }
            write_container(out, ('{', '}'), keys.len(), o, depth, |out, i| {
                let Some(key) = keys.get(i) else {
                    return Ok(());
                };
                write_key(out, key, o)?;
                out.push_str(&o.key_separator);
                write_value(out, &value.get_item(key)?, o, depth + 1)
            })?;
        }
        kind => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("tojson: a value of kind {kind} is not JSON serializable"),
            ));
        }
    }
    Ok(())
}

/// Writes `n` items between `brackets`, separated and indented the way Python does.
fn write_container(
    out: &mut String,
    brackets: (char, char),
    n: usize,
    o: &Options,
    depth: usize,
    mut item: impl FnMut(&mut String, usize) -> Result<(), Error>,
) -> Result<(), Error> {
    out.push(brackets.0);
    if n == 0 {
        out.push(brackets.1);
        return Ok(());
    }
    for i in 0..n {
        if i > 0 {
            out.push_str(&o.item_separator);
        }
        if let Some(indent) = &o.indent {
            out.push('\n');
            out.push_str(&indent.repeat(depth + 1));
        }
        item(out, i)?;
    }
    if let Some(indent) = &o.indent {
        out.push('\n');
        out.push_str(&indent.repeat(depth));
    }
    out.push(brackets.1);
    Ok(())
}

/// Python turns non-string keys into strings (`1` → `"1"`, `None` → `"null"`).
fn write_key(out: &mut String, key: &Value, o: &Options) -> Result<(), Error> {
    match key.kind() {
        ValueKind::String => write_string(out, key.as_str().unwrap_or_default(), o),
        ValueKind::Number | ValueKind::Bool | ValueKind::None => {
            let mut text = String::new();
            write_value(&mut text, key, o, 0)?;
            write_string(out, &text, o);
        }
        kind => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("tojson: keys must be strings, not {kind}"),
            ));
        }
    }
    Ok(())
}

fn write_number(out: &mut String, value: &Value) -> Result<(), Error> {
    if value.is_integer() {
        let n = i128::try_from(value.clone())?;
        let _ = write!(out, "{n}");
    } else {
        out.push_str(&python_float_repr(f64::try_from(value.clone())?));
    }
    Ok(())
}

/// Python's `repr(float)`: shortest round-trip digits, `.0` on integral values, scientific
/// notation below 1e-4 and from 1e16.
pub fn python_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "NaN".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    let sci = format!("{x:e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if x == 0.0 || (-4..16).contains(&exponent) {
        let fixed = format!("{x}");
        if fixed.contains('.') {
            fixed
        } else {
            format!("{fixed}.0")
        }
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
    }
}

fn write_string(out: &mut String, s: &str, o: &Options) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if o.ensure_ascii && !c.is_ascii() => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::{Environment, context};

    fn render(template: &str, ctx: Value) -> String {
        let mut env = Environment::new();
        env.add_filter("tojson", tojson);
        env.render_str(template, ctx).expect("render")
    }

    #[test]
    fn matches_python_json_dumps() {
        let data = Value::from_serialize(serde_json::json!({
            "name": "get_weather",
            "args": {"city": "Zürich <3>", "days": 3, "ratio": 0.5, "big": 1e20, "ok": true},
            "list": [1, null, "a\"b\\c\n"],
            "empty": {},
            "none": []
        }));
        // json! maps sort their keys (serde_json without preserve_order), as do minijinja's.
        assert_eq!(
            render("{{ data | tojson }}", context! { data => data.clone() }),
            r#"{"args": {"big": 1e+20, "city": "Zürich <3>", "days": 3, "ok": true, "ratio": 0.5}, "empty": {}, "list": [1, null, "a\"b\\c\n"], "name": "get_weather", "none": []}"#
        );
        assert_eq!(
            render("{{ [1, {'a': 2}] | tojson(indent=2) }}", context! {}),
            "[\n  1,\n  {\n    \"a\": 2\n  }\n]"
        );
        assert_eq!(
            render(
                "{{ 'é' | tojson(ensure_ascii=true) }} {{ {'b': 1} | tojson(separators=(',', ':')) }}",
                context! {}
            ),
            r#""\u00e9" {"b":1}"#
        );
    }

    #[test]
    fn floats_print_like_python_repr() {
        for (x, want) in [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (1e16, "1e+16"),
            (123456789012345.0, "123456789012345.0"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1.5e-7, "1.5e-07"),
            (0.0, "0.0"),
        ] {
            assert_eq!(python_float_repr(x), want, "{x}");
        }
    }
}
