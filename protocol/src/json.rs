//! A small JSON reader ([`parse`] into [`Value`]) and writer ([`Writer`]).
//!
//! Connect error bodies and end-of-stream messages are JSON in both codecs, so this is always
//! built; the protobuf-JSON mapping of the messages (feature `json`) uses it too. The reader
//! follows RFC 8259 strictly (no trailing commas, no comments, valid UTF-8 and surrogate
//! pairs) and limits nesting so hostile input cannot exhaust the stack.

use crate::hex;
use crate::prelude::*;
use core::fmt;

/// Deepest nesting [`parse`] accepts.
pub const MAX_DEPTH: usize = 64;

/// A parsed JSON value. Objects keep their members in input order (duplicates included).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

/// A JSON number: integers without fraction or exponent that fit 64 bits stay exact.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number {
    Int(i64),
    UInt(u64),
    Float(f64),
}

impl Number {
    /// The value as an exact integer, if it is one (`3.0` and `1e3` count; `1.5` does not).
    pub fn as_i128(self) -> Option<i128> {
        match self {
            Number::Int(v) => Some(v.into()),
            Number::UInt(v) => Some(v.into()),
            // Within ±1.8e19 the cast is exact for whole numbers, so a round trip tells them apart.
            Number::Float(f) if f.abs() < 1.8e19 && (f as i128) as f64 == f => Some(f as i128),
            Number::Float(_) => None,
        }
    }

    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(v) => v as f64,
            Number::UInt(v) => v as f64,
            Number::Float(f) => f,
        }
    }
}

impl Value {
    /// The member `key` of an object (the last one if repeated).
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(members) => members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&[(String, Value)]> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// A short name of the value's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }
}

/// Where and why JSON text is invalid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset of the problem.
    pub offset: usize,
    pub reason: &'static str,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid JSON at byte {}: {}", self.offset, self.reason)
    }
}

impl core::error::Error for ParseError {}

/// Parses one JSON value; whitespace around it is allowed, anything else is an error.
pub fn parse(input: &[u8]) -> Result<Value, ParseError> {
    if let Err(e) = core::str::from_utf8(input) {
        return Err(ParseError {
            offset: e.valid_up_to(),
            reason: "invalid UTF-8",
        });
    }
    let mut p = Parser { s: input, i: 0 };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if p.i != input.len() {
        return Err(p.err("trailing characters"));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn err(&self, reason: &'static str) -> ParseError {
        ParseError {
            offset: self.i,
            reason,
        }
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.s.get(self.i) == Some(&b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn literal(&mut self, word: &[u8], v: Value) -> Result<Value, ParseError> {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(self.err("invalid literal"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, ParseError> {
        match self.s.get(self.i) {
            None => Err(self.err("unexpected end of input")),
            Some(b'n') => self.literal(b"null", Value::Null),
            Some(b't') => self.literal(b"true", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", Value::Bool(false)),
            Some(b'"') => self.string().map(Value::String),
            Some(b'-' | b'0'..=b'9') => self.number().map(Value::Number),
            Some(b'[') => {
                if depth >= MAX_DEPTH {
                    return Err(self.err("nesting too deep"));
                }
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.eat(b']') {
                    return Ok(Value::Array(items));
                }
                loop {
                    self.ws();
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    if self.eat(b']') {
                        return Ok(Value::Array(items));
                    }
                    if !self.eat(b',') {
                        return Err(self.err("expected ',' or ']'"));
                    }
                }
            }
            Some(b'{') => {
                if depth >= MAX_DEPTH {
                    return Err(self.err("nesting too deep"));
                }
                self.i += 1;
                let mut members = Vec::new();
                self.ws();
                if self.eat(b'}') {
                    return Ok(Value::Object(members));
                }
                loop {
                    self.ws();
                    if self.s.get(self.i) != Some(&b'"') {
                        return Err(self.err("expected a string key"));
                    }
                    let key = self.string()?;
                    self.ws();
                    if !self.eat(b':') {
                        return Err(self.err("expected ':'"));
                    }
                    self.ws();
                    let v = self.value(depth + 1)?;
                    members.push((key, v));
                    self.ws();
                    if self.eat(b'}') {
                        return Ok(Value::Object(members));
                    }
                    if !self.eat(b',') {
                        return Err(self.err("expected ',' or '}'"));
                    }
                }
            }
            Some(_) => Err(self.err("unexpected character")),
        }
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let digits = self
            .s
            .get(self.i..self.i + 4)
            .ok_or_else(|| self.err("short \\u escape"))?;
        let mut v = 0;
        for &d in digits {
            let n = (d as char)
                .to_digit(16)
                .ok_or_else(|| self.err("bad \\u escape"))?;
            v = v * 16 + n;
        }
        self.i += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String, ParseError> {
        self.i += 1; // opening quote
        let mut out = String::new();
        loop {
            // Copy the run of plain characters in one go.
            let run_start = self.i;
            while let Some(&b) = self.s.get(self.i) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.i += 1;
            }
            // The input was validated as UTF-8 and runs end at ASCII bytes, so this cannot fail.
            out.push_str(core::str::from_utf8(&self.s[run_start..self.i]).unwrap_or_default());
            match self.s.get(self.i) {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let esc = *self
                        .s
                        .get(self.i)
                        .ok_or_else(|| self.err("unterminated string"))?;
                    self.i += 1;
                    let c = match esc {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => {
                            self.i -= 1;
                            return Err(self.err("invalid escape"));
                        }
                    };
                    out.push(c);
                }
                Some(_) => return Err(self.err("control character in string")),
            }
        }
    }

    fn unicode_escape(&mut self) -> Result<char, ParseError> {
        let hi = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&hi) {
            if !(self.eat(b'\\') && self.eat(b'u')) {
                return Err(self.err("unpaired surrogate"));
            }
            let lo = self.hex4()?;
            if !(0xDC00..0xE000).contains(&lo) {
                return Err(self.err("unpaired surrogate"));
            }
            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
        } else {
            hi
        };
        char::from_u32(code).ok_or_else(|| self.err("unpaired surrogate"))
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.s.get(self.i) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<Number, ParseError> {
        let start = self.i;
        let negative = self.eat(b'-');
        let int_start = self.i;
        let n = self.digits();
        if n == 0 {
            return Err(self.err("expected digits"));
        }
        if n > 1 && self.s[int_start] == b'0' {
            return Err(ParseError {
                offset: int_start,
                reason: "leading zero",
            });
        }
        let mut integral = true;
        if self.eat(b'.') {
            integral = false;
            if self.digits() == 0 {
                return Err(self.err("expected fraction digits"));
            }
        }
        if let Some(b'e' | b'E') = self.s.get(self.i) {
            integral = false;
            self.i += 1;
            if let Some(b'+' | b'-') = self.s.get(self.i) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(self.err("expected exponent digits"));
            }
        }
        let text = core::str::from_utf8(&self.s[start..self.i]).unwrap_or_default();
        if integral {
            if negative {
                if let Ok(v) = text.parse::<i64>() {
                    return Ok(Number::Int(v));
                }
            } else if let Ok(v) = text.parse::<u64>() {
                return Ok(match i64::try_from(v) {
                    Ok(v) => Number::Int(v),
                    Err(_) => Number::UInt(v),
                });
            }
        }
        text.parse::<f64>()
            .map(Number::Float)
            .map_err(|_| ParseError {
                offset: start,
                reason: "invalid number",
            })
    }
}

/// Appends JSON text to a byte buffer. Objects are written with [`Writer::object`] and fields
/// with the `field_*` methods; the writer inserts the commas.
pub struct Writer<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Writer<'a> {
    /// Writes one object into `out`, calling `body` to add its fields.
    pub fn object(out: &'a mut Vec<u8>, body: impl FnOnce(&mut Writer<'_>)) {
        out.push(b'{');
        let mut w = Writer { out, first: true };
        body(&mut w);
        w.out.push(b'}');
    }

    /// Starts a field and returns the buffer to write its value into.
    pub fn key(&mut self, name: &str) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        write_str(self.out, name);
        self.out.push(b':');
        self.out
    }

    pub fn field_str(&mut self, name: &str, value: &str) {
        let out = self.key(name);
        write_str(out, value);
    }

    pub fn field_bool(&mut self, name: &str, value: bool) {
        let out = self.key(name);
        out.extend_from_slice(if value { b"true" } else { b"false" });
    }

    /// A number field written as a JSON number (32-bit protobuf integers, HTTP codes).
    pub fn field_num(&mut self, name: &str, value: i64) {
        let out = self.key(name);
        write_int(out, value);
    }

    /// A nested object field.
    pub fn field_object(&mut self, name: &str, body: impl FnOnce(&mut Writer<'_>)) {
        let out = self.key(name);
        Writer::object(out, body);
    }
}

/// Appends a decimal integer without going through `format!`.
pub fn write_int(out: &mut Vec<u8>, value: i64) {
    if value < 0 {
        out.push(b'-');
    }
    write_uint(out, value.unsigned_abs());
}

/// Appends a decimal unsigned integer.
pub fn write_uint(out: &mut Vec<u8>, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Appends `s` as a JSON string literal (quotes and escapes included).
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[run..i]);
        run = i + 1;
        if esc.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(hex::digit(b >> 4, hex::LOWER));
            out.push(hex::digit(b, hex::LOWER));
        } else {
            out.extend_from_slice(esc);
        }
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::String(v.to_owned())
    }

    #[test]
    fn parses_nested_values_with_whitespace() {
        let v = parse(br#" {"a":[1,-2,3.5,true,false,null],"b":{"c":"d"}} "#).unwrap();
        assert_eq!(
            v.get("a"),
            Some(&Value::Array(vec![
                Value::Number(Number::Int(1)),
                Value::Number(Number::Int(-2)),
                Value::Number(Number::Float(3.5)),
                Value::Bool(true),
                Value::Bool(false),
                Value::Null,
            ]))
        );
        assert_eq!(v.get("b").and_then(|b| b.get("c")), Some(&s("d")));
    }

    #[test]
    fn string_escapes_and_surrogates() {
        assert_eq!(
            parse(br#""a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00""#).unwrap(),
            s("a\"\\/\u{8}\u{c}\n\r\té😀")
        );
        assert_eq!(parse("\"é😀\"".as_bytes()).unwrap(), s("é😀"));
        for bad in [
            &br#""\ud83d""#[..],
            br#""\ude00""#,
            br#""\ud83dx""#,
            br#""\x""#,
            b"\"a\nb\"",
            b"\"abc",
        ] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn large_integers_stay_exact() {
        assert_eq!(
            parse(b"18446744073709551615").unwrap(),
            Value::Number(Number::UInt(u64::MAX))
        );
        assert_eq!(
            parse(b"-9223372036854775808").unwrap(),
            Value::Number(Number::Int(i64::MIN))
        );
        assert_eq!(parse(b"1e3").unwrap(), Value::Number(Number::Float(1000.0)));
        assert_eq!(Number::Float(1000.0).as_i128(), Some(1000));
        assert_eq!(Number::Float(1.5).as_i128(), None);
    }

    #[test]
    fn rejects_malformed_text() {
        let bad: &[&[u8]] = &[
            b"",
            b"{",
            b"{\"a\"}",
            b"{\"a\":}",
            b"[1,]",
            b"{\"a\":1,}",
            b"01",
            b"1.",
            b"-",
            b".5",
            b"tru",
            b"nul",
            b"{} x",
            b"{'a':1}",
            b"[1 2]",
            b"\xff",
            b"1e",
            b"{1:2}",
        ];
        for b in bad {
            assert!(parse(b).is_err(), "{}", String::from_utf8_lossy(b));
        }
    }

    #[test]
    fn nesting_is_limited() {
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(
            parse(deep.as_bytes()).unwrap_err().reason,
            "nesting too deep"
        );
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(ok.as_bytes()).is_ok());
    }

    #[test]
    fn writer_escapes_and_round_trips() {
        let text = "q\"b\\n\n\u{1}é😀/";
        let mut out = Vec::new();
        Writer::object(&mut out, |w| {
            w.field_str("s", text);
            w.field_num("n", -42);
            w.field_bool("t", true);
            w.field_object("o", |_| {});
        });
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            r#"{"s":"q\"b\\n\n\u0001é😀/","n":-42,"t":true,"o":{}}"#
        );
        let v = parse(&out).unwrap();
        assert_eq!(v.get("s"), Some(&s(text)));
        let mut n = Vec::new();
        write_uint(&mut n, u64::MAX);
        write_int(&mut n, i64::MIN);
        assert_eq!(n, b"18446744073709551615-9223372036854775808");
    }
}
