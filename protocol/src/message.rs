//! The [`Message`] trait both codecs go through, and the field kinds the message definitions
//! are generated from (`proto_message!` / `proto_oneof!` in `messages`).

use crate::prelude::*;
use core::fmt;
use core::marker::PhantomData;

#[cfg(feature = "json")]
use crate::json;
use crate::pb;

/// Why bytes are not a valid encoding of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// Dotted path of the field the problem is in (empty at the top level).
    path: String,
    reason: String,
}

impl DecodeError {
    pub fn new(reason: impl Into<String>) -> Self {
        DecodeError {
            path: String::new(),
            reason: reason.into(),
        }
    }

    /// Records that the error happened inside `field`, so it reads `process.pid: …`.
    pub fn in_field(mut self, field: &str) -> Self {
        if !self.path.is_empty() {
            self.path.insert(0, '.');
        }
        self.path.insert_str(0, field);
        self
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "{}: {}", self.path, self.reason)
        }
    }
}

impl core::error::Error for DecodeError {}

/// A protobuf message with its binary codec and (feature `json`) its protobuf-JSON codec.
/// Decoding ignores unknown fields in both codecs; JSON accepts both the lowerCamelCase and the
/// original snake_case field names and treats `null` as "unset".
pub trait Message: Default {
    /// Writes the fields in binary protobuf, skipping proto3 defaults.
    fn write_proto(&self, w: &mut pb::Writer<'_>);
    /// Merges one binary field into `self` (unknown numbers are ignored).
    fn merge_proto_field(
        &mut self,
        number: u32,
        value: pb::FieldValue<'_>,
    ) -> Result<(), DecodeError>;
    /// Appends the JSON value of the message (an object for every message but `Timestamp`).
    #[cfg(feature = "json")]
    fn write_json(&self, out: &mut Vec<u8>);
    /// Merges a JSON value into `self`.
    #[cfg(feature = "json")]
    fn merge_json(&mut self, value: &json::Value) -> Result<(), DecodeError>;

    /// Appends the binary encoding to `out`.
    fn encode_proto(&self, out: &mut Vec<u8>) {
        self.write_proto(&mut pb::Writer::new(out));
    }

    /// The binary encoding.
    fn to_proto(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_proto(&mut out);
        out
    }

    /// Merges a binary encoding into `self`.
    fn merge_proto(&mut self, bytes: &[u8]) -> Result<(), DecodeError> {
        let mut r = pb::Reader::new(bytes);
        while let Some((number, value)) = r.next_field()? {
            self.merge_proto_field(number, value)?;
        }
        Ok(())
    }

    fn decode_proto(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut m = Self::default();
        m.merge_proto(bytes)?;
        Ok(m)
    }

    /// The JSON encoding.
    #[cfg(feature = "json")]
    fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_json(&mut out);
        out
    }

    #[cfg(feature = "json")]
    fn decode_json(bytes: &[u8]) -> Result<Self, DecodeError> {
        let v = json::parse(bytes).map_err(|e| DecodeError::new(e.to_string()))?;
        let mut m = Self::default();
        m.merge_json(&v)?;
        Ok(m)
    }

    /// Appends the encoding in `codec`.
    #[cfg(feature = "json")]
    fn encode(&self, codec: crate::Codec, out: &mut Vec<u8>) {
        match codec {
            crate::Codec::Json => self.write_json(out),
            crate::Codec::Proto => self.encode_proto(out),
        }
    }

    /// Decodes from `codec`.
    #[cfg(feature = "json")]
    fn decode(codec: crate::Codec, bytes: &[u8]) -> Result<Self, DecodeError> {
        match codec {
            crate::Codec::Json => Self::decode_json(bytes),
            crate::Codec::Proto => Self::decode_proto(bytes),
        }
    }
}

/// A protobuf enum: known values by number and name; unknown numbers decode to the zero value.
pub trait ProtoEnum: Copy + Default + PartialEq {
    fn from_i32(v: i32) -> Self;
    fn to_i32(self) -> i32;
    fn name(self) -> &'static str;
    fn from_name(name: &str) -> Option<Self>;
}

/// How one field is encoded. `Value` is the Rust type of the field.
#[doc(hidden)]
pub trait Kind {
    type Value: Default;
    fn is_default(v: &Self::Value) -> bool;
    /// Writes the field (with tag) unconditionally; repeated kinds write every element.
    fn write_proto(w: &mut pb::Writer<'_>, number: u32, v: &Self::Value);
    fn merge_proto(v: &mut Self::Value, f: pb::FieldValue<'_>) -> Result<(), DecodeError>;
    #[cfg(feature = "json")]
    fn write_json(out: &mut Vec<u8>, v: &Self::Value);
    #[cfg(feature = "json")]
    fn merge_json(v: &mut Self::Value, j: &json::Value) -> Result<(), DecodeError>;
}

/// Field kinds (marker types) used by the message definitions.
#[doc(hidden)]
pub mod kinds {
    use super::*;

    pub struct Str;
    pub struct Bytes;
    pub struct U32;
    pub struct S32;
    pub struct I64;
    pub struct Bool;
    pub struct Enum<E>(PhantomData<E>);
    /// `optional string`.
    pub struct OptStr;
    /// `optional bool`.
    pub struct OptBool;
    /// A singular message field (`None` = unset).
    pub struct Msg<M>(PhantomData<M>);
    /// A message held directly (oneof members).
    pub struct Inline<M>(PhantomData<M>);
    pub struct RepStr;
    pub struct RepMsg<M>(PhantomData<M>);
    /// `map<string, string>`.
    pub struct StrMap;

    #[cfg(feature = "json")]
    fn expected(what: &str, got: &json::Value) -> DecodeError {
        DecodeError::new(format!("expected {what}, found {}", got.kind()))
    }

    /// Integers in JSON: numbers, or strings holding a decimal integer.
    #[cfg(feature = "json")]
    fn json_int(j: &json::Value) -> Result<i128, DecodeError> {
        match j {
            json::Value::Number(n) => n
                .as_i128()
                .ok_or_else(|| DecodeError::new("expected an integer")),
            json::Value::String(s) => match json::parse(s.as_bytes()) {
                Ok(json::Value::Number(n)) => n
                    .as_i128()
                    .ok_or_else(|| DecodeError::new("expected an integer")),
                _ => Err(DecodeError::new("expected an integer")),
            },
            other => Err(expected("an integer", other)),
        }
    }

    #[cfg(feature = "json")]
    fn json_int_in<T: TryFrom<i128>>(j: &json::Value) -> Result<T, DecodeError> {
        T::try_from(json_int(j)?).map_err(|_| DecodeError::new("integer out of range"))
    }

    #[cfg(feature = "json")]
    fn json_string(j: &json::Value) -> Result<&str, DecodeError> {
        j.as_str().ok_or_else(|| expected("a string", j))
    }

    impl Kind for Str {
        type Value = String;
        fn is_default(v: &String) -> bool {
            v.is_empty()
        }
        fn write_proto(w: &mut pb::Writer<'_>, n: u32, v: &String) {
            w.bytes(n, v.as_bytes());
        }
        fn merge_proto(v: &mut String, f: pb::FieldValue<'_>) -> Result<(), DecodeError> {
            f.string().map(|s| *v = s.to_owned())
        }
        #[cfg(feature = "json")]
        fn write_json(out: &mut Vec<u8>, v: &String) {
            json::write_str(out, v);
        }
        #[cfg(feature = "json")]
        fn merge_json(v: &mut String, j: &json::Value) -> Result<(), DecodeError> {
            json_string(j).map(|s| *v = s.to_owned())
        }
    }

    impl Kind for Bytes {
        type Value = Vec<u8>;
        fn is_default(v: &Vec<u8>) -> bool {
            v.is_empty()
        }
        fn write_proto(w: &mut pb::Writer<'_>, n: u32, v: &Vec<u8>) {
            w.bytes(n, v);
        }
        fn merge_proto(v: &mut Vec<u8>, f: pb::FieldValue<'_>) -> Result<(), DecodeError> {
            f.bytes().map(|b| *v = b.to_vec())
        }
        #[cfg(feature = "json")]
        fn write_json(out: &mut Vec<u8>, v: &Vec<u8>) {
            out.push(b'"');
            crate::base64::encode_into(v, out);
            out.push(b'"');
        }
        #[cfg(feature = "json")]
        fn merge_json(v: &mut Vec<u8>, j: &json::Value) -> Result<(), DecodeError> {
            *v = crate::base64::decode(json_string(j)?)
                .ok_or_else(|| DecodeError::new("invalid base64"))?;
            Ok(())
        }
    }

    impl Kind for U32 {
        type Value = u32;
        fn is_default(v: &u32) -> bool {
            *v == 0
        }
        fn write_proto(w: &mut pb::Writer<'_>, n: u32, v: &u32) {
            w.varint(n, u64::from(*v));
        }
        fn merge_proto(v: &mut u32, f: pb::FieldValue<'_>) -> Result<(), DecodeError> {
            f.uint32().map(|x| *v = x)
        }
        #[cfg(feature = "json")]
        fn write_json(out: &mut Vec<u8>, v: &u32) {
            json::write_uint(out, u64::from(*v));
        }
        #[cfg(feature = "json")]
        fn merge_json(v: &mut u32, j: &json::Value) -> Result<(), DecodeError> {
            json_int_in(j).map(|x| *v = x)
        }
    }

    impl Kind for S32 {
        type Value = i32;
        fn is_default(v: &i32) -> bool {
            *v == 0
        }
        fn write_proto(w: &mut pb::Writer<'_>, n: u32, v: &i32) {
            w.sint32(n, *v);
        }
        fn merge_proto(v: &mut i32, f: pb::FieldValue<'_>) -> Result<(), DecodeError> {
            f.sint32().map(|x| *v = x)
        }
        #[cfg(feature = "json")]
        fn write_json(out: &mut Vec<u8>, v: &i32) {
            json::write_int(out, i64::from(*v));
        }
        #[cfg(feature = "json")]
        fn merge_json(v: &mut i32, j: &json::Value) -> Result<(), DecodeError> {
            json_int_in(j).map(|x| *v = x)
        }
    }

    impl Kind for I64 {
        type Value = i64;
        fn is_default(v: &i64) -> bool {
            *v == 0
        }
        fn write_proto(w: &mut pb::Writer<'_>, n: u32, v: &i64) {
            w.int64(n, *v);
        }
        fn merge_proto(v: &mut i64, f: pb::FieldValue<'_>) -> Result<(), DecodeError> {
            f.int64().map(|x| *v = x)
        }
        #[cfg(feature = "json")]
        fn write_json(out: &mut Vec<u8>, v: &i64) {
            out.push(b'"');
            json::write_int(out, *v);
            out.push(b'"');
        }
        #[cfg(feature = "json")]
        fn merge_json(v: &mut i64, j: &json::Value) -> Result<(), DecodeError> {
            json_int_in(j).map(|x| *v = x)
        }
    }

    impl Kind for Bool {
        type Value = bool;
        fn is_default(v: &bool) -> bool {
            !*v
        }
        fn write_proto(w: &mut pb::Writer<'_>, n: u32, v: &bool) {
            w.varint(n, u64::from(*v));
        }
        fn merge_proto(v: &mut bool, f: pb::FieldValue<'_>) -> Result<(), DecodeError> {
            f.bool().map(|x| *v = x)
        }
        #[cfg(feature = "json")]
        fn write_json(out: &mut Vec<u8>, v: &bool) {
            out.extend_from_slice(if *v { b"true" } else { b"false" });
        }
        #[cfg(feature = "json")]
        fn merge_json(v: &mut bool, j: &json::Value) -> Result<(), DecodeError> {
            match j {
                json::Value::Bool(b) => {
                    *v = *b;
                    Ok(())
                }
                other => Err(expected("a boolean", other)),
            }
        }
    }

    impl<E: ProtoEnum> Kind for Enum<E> {
        type Value = E;
        fn is_default(v: &E) -> bool {
            v.to_i32() == 0
        }
        fn write_proto(w: &mut pb::Writer<'_>, n: u32, v: &E) {
            w.int64(n, i64::from(v.to_i32()));
        }
        fn merge_proto(v: &mut E, f: pb::FieldValue<'_>) -> Result<(), DecodeError> {
            f.int32().map(|x| *v = E::from_i32(x))
        }
        #[cfg(feature = "json")]
        fn write_json(out: &mut Vec<u8>, v: &E) {
            json::write_str(out, v.name());
        }
        #[cfg(feature = "json")]
        fn merge_json(v: &mut E, j: &json::Value) -> Result<(), DecodeError> {
            *v = match j {
                json::Value::String(s) => E::from_name(s)
                    .ok_or_else(|| DecodeError::new(format!("unknown enum value {s:?}")))?,
                other => E::from_i32(json_int_in(other)?),
            };
            Ok(())
        }
    }

    impl Kind for OptStr {
        type Value = Option<String>;
        fn is_default(v: &Option<String>) -> bool {
            v.is_none()
        }
        fn write_proto(w: &mut pb::Writer<'_>, n: u32, v: &Option<String>) {
            w.bytes(n, v.as_deref().unwrap_or_default().as_bytes());
        }
        fn merge_proto(v: &mut Option<String>, f: pb::FieldValue<'_>) -> Result<(), DecodeError> {
            Str::merge_proto(v.get_or_insert_default(), f)
        }
        #[cfg(feature = "json")]
        fn write_json(out: &mut Vec<u8>, v: &Option<String>) {
            json::write_str(out, v.as_deref().unwrap_or_default());
        }
        #[cfg(feature = "json")]
        fn merge_json(v: &mut Option<String>, j: &json::Value) -> Result<(), DecodeError> {
            Str::merge_json(v.get_or_insert_default(), j)
        }
    }

    impl Kind for OptBool {
        type Value = Option<bool>;
        fn is_default(v: &Option<bool>) -> bool {
            v.is_none()
        }
        fn write_proto(w: &mut pb::Writer<'_>, n: u32, v: &Option<bool>) {
            w.varint(n, u64::from(v.unwrap_or_default()));
        }
        fn merge_proto(v: &mut Option<bool>, f: pb::FieldValue<'_>) -> Result<(), DecodeError> {
            Bool::merge_proto(v.get_or_insert_default(), f)
        }
        #[cfg(feature = "json")]
        fn write_json(out: &mut Vec<u8>, v: &Option<bool>) {
            Bool::write_json(out, &v.unwrap_or_default());
        }
        #[cfg(feature = "json")]
        fn merge_json(v: &mut Option<bool>, j: &json::Value) -> Result<(), DecodeError> {
            Bool::merge_json(v.get_or_insert_default(), j)
        }
    }

    impl<M: Message> Kind for Inline<M> {
        type Value = M;
        fn is_default(_: &M) -> bool {
            false
        }
        fn write_proto(w: &mut pb::Writer<'_>, n: u32, v: &M) {
            w.message(n, |w| v.write_proto(w));
        }
        fn merge_proto(v: &mut M, f: pb::FieldValue<'_>) -> Result<(), DecodeError> {
            v.merge_proto(f.bytes()?)
        }
        #[cfg(feature = "json")]
        fn write_json(out: &mut Vec<u8>, v: &M) {
            v.write_json(out);
        }
        #[cfg(feature = "json")]
        fn merge_json(v: &mut M, j: &json::Value) -> Result<(), DecodeError> {
            v.merge_json(j)
        }
    }

    impl<M: Message> Kind for Msg<M> {
        type Value = Option<M>;
        fn is_default(v: &Option<M>) -> bool {
            v.is_none()
        }
        fn write_proto(w: &mut pb::Writer<'_>, n: u32, v: &Option<M>) {
            if let Some(m) = v {
                Inline::write_proto(w, n, m);
            }
        }
        fn merge_proto(v: &mut Option<M>, f: pb::FieldValue<'_>) -> Result<(), DecodeError> {
            Inline::merge_proto(v.get_or_insert_default(), f)
        }
        #[cfg(feature = "json")]
        fn write_json(out: &mut Vec<u8>, v: &Option<M>) {
            match v {
                Some(m) => m.write_json(out),
                None => out.extend_from_slice(b"null"),
            }
        }
        #[cfg(feature = "json")]
        fn merge_json(v: &mut Option<M>, j: &json::Value) -> Result<(), DecodeError> {
            Inline::merge_json(v.get_or_insert_default(), j)
        }
    }

    impl Kind for RepStr {
        type Value = Vec<String>;
        fn is_default(v: &Vec<String>) -> bool {
            v.is_empty()
        }
        fn write_proto(w: &mut pb::Writer<'_>, n: u32, v: &Vec<String>) {
            for s in v {
                w.bytes(n, s.as_bytes());
            }
        }
        fn merge_proto(v: &mut Vec<String>, f: pb::FieldValue<'_>) -> Result<(), DecodeError> {
            v.push(f.string()?.to_owned());
            Ok(())
        }
        #[cfg(feature = "json")]
        fn write_json(out: &mut Vec<u8>, v: &Vec<String>) {
            write_json_array(out, v, |out, s| json::write_str(out, s));
        }
        #[cfg(feature = "json")]
        fn merge_json(v: &mut Vec<String>, j: &json::Value) -> Result<(), DecodeError> {
            for_each_json_item(j, |item| {
                v.push(json_string(item)?.to_owned());
                Ok(())
            })
        }
    }

    impl<M: Message> Kind for RepMsg<M> {
        type Value = Vec<M>;
        fn is_default(v: &Vec<M>) -> bool {
            v.is_empty()
        }
        fn write_proto(w: &mut pb::Writer<'_>, n: u32, v: &Vec<M>) {
            for m in v {
                Inline::write_proto(w, n, m);
            }
        }
        fn merge_proto(v: &mut Vec<M>, f: pb::FieldValue<'_>) -> Result<(), DecodeError> {
            v.push(M::decode_proto(f.bytes()?)?);
            Ok(())
        }
        #[cfg(feature = "json")]
        fn write_json(out: &mut Vec<u8>, v: &Vec<M>) {
            write_json_array(out, v, |out, m| m.write_json(out));
        }
        #[cfg(feature = "json")]
        fn merge_json(v: &mut Vec<M>, j: &json::Value) -> Result<(), DecodeError> {
            for_each_json_item(j, |item| {
                let mut m = M::default();
                m.merge_json(item)?;
                v.push(m);
                Ok(())
            })
        }
    }

    impl Kind for StrMap {
        type Value = crate::StringMap;
        fn is_default(v: &Self::Value) -> bool {
            v.is_empty()
        }
        fn write_proto(w: &mut pb::Writer<'_>, n: u32, v: &Self::Value) {
            for (k, val) in v {
                w.message(n, |w| {
                    w.bytes(1, k.as_bytes());
                    w.bytes(2, val.as_bytes());
                });
            }
        }
        fn merge_proto(v: &mut Self::Value, f: pb::FieldValue<'_>) -> Result<(), DecodeError> {
            let (mut key, mut value) = (String::new(), String::new());
            let mut r = pb::Reader::new(f.bytes()?);
            while let Some((number, field)) = r.next_field()? {
                match number {
                    1 => key = field.string()?.to_owned(),
                    2 => value = field.string()?.to_owned(),
                    _ => {}
                }
            }
            v.insert(key, value);
            Ok(())
        }
        #[cfg(feature = "json")]
        fn write_json(out: &mut Vec<u8>, v: &Self::Value) {
            json::Writer::object(out, |w| {
                for (k, val) in v {
                    w.field_str(k, val);
                }
            });
        }
        #[cfg(feature = "json")]
        fn merge_json(v: &mut Self::Value, j: &json::Value) -> Result<(), DecodeError> {
            let members = j.as_object().ok_or_else(|| expected("an object", j))?;
            for (k, val) in members {
                v.insert(
                    k.clone(),
                    json_string(val).map_err(|e| e.in_field(k))?.to_owned(),
                );
            }
            Ok(())
        }
    }

    #[cfg(feature = "json")]
    fn write_json_array<T>(out: &mut Vec<u8>, items: &[T], mut item: impl FnMut(&mut Vec<u8>, &T)) {
        out.push(b'[');
        for (i, x) in items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            item(out, x);
        }
        out.push(b']');
    }

    #[cfg(feature = "json")]
    fn for_each_json_item(
        j: &json::Value,
        mut f: impl FnMut(&json::Value) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        let json::Value::Array(items) = j else {
            return Err(expected("an array", j));
        };
        items.iter().try_for_each(&mut f)
    }
}

/// Merges a JSON object into a message: `field` is called for every member whose value is not
/// `null`, with the member name; it returns `Ok(false)` for names it does not know (ignored).
#[cfg(feature = "json")]
#[doc(hidden)]
pub fn merge_json_object(
    j: &json::Value,
    mut field: impl FnMut(&str, &json::Value) -> Result<bool, DecodeError>,
) -> Result<(), DecodeError> {
    let members = j
        .as_object()
        .ok_or_else(|| DecodeError::new(format!("expected an object, found {}", j.kind())))?;
    for (name, value) in members {
        if *value != json::Value::Null {
            field(name, value).map_err(|e| e.in_field(name))?;
        }
    }
    Ok(())
}
