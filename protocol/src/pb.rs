//! Protobuf binary wire format: varints, tags, length-delimited fields. Hand-written and
//! dependency-free; the messages build on [`Writer`] and [`Reader`].

use crate::message::DecodeError;
use crate::prelude::*;

const WIRE_VARINT: u32 = 0;
const WIRE_I64: u32 = 1;
const WIRE_LEN: u32 = 2;
const WIRE_I32: u32 = 5;

/// Appends a base-128 varint.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Number of bytes [`put_varint`] writes for `v`.
pub fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// Reads a varint from the front of `buf`: the value and the bytes used.
pub fn get_varint(buf: &[u8]) -> Result<(u64, usize), DecodeError> {
    let mut v = 0u64;
    for (i, &b) in buf.iter().enumerate().take(10) {
        if i == 9 && b > 1 {
            return Err(DecodeError::new("varint overflows 64 bits"));
        }
        v |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Ok((v, i + 1));
        }
    }
    Err(DecodeError::new(if buf.len() < 10 {
        "truncated varint"
    } else {
        "varint too long"
    }))
}

/// Writes fields into a buffer. Every method writes unconditionally; skipping proto3 default
/// values is the caller's decision (see `message`).
pub struct Writer<'a> {
    buf: &'a mut Vec<u8>,
}

impl<'a> Writer<'a> {
    pub fn new(buf: &'a mut Vec<u8>) -> Self {
        Writer { buf }
    }

    fn tag(&mut self, field: u32, wire: u32) {
        put_varint(self.buf, u64::from(field << 3 | wire));
    }

    pub fn varint(&mut self, field: u32, v: u64) {
        self.tag(field, WIRE_VARINT);
        put_varint(self.buf, v);
    }

    /// A `sint32` (zigzag-encoded) field.
    pub fn sint32(&mut self, field: u32, v: i32) {
        self.varint(field, u64::from(((v << 1) ^ (v >> 31)) as u32));
    }

    /// An `int32`/`int64`/enum field: negative values take ten bytes, as protobuf requires.
    pub fn int64(&mut self, field: u32, v: i64) {
        self.varint(field, v as u64);
    }

    pub fn bytes(&mut self, field: u32, data: &[u8]) {
        self.tag(field, WIRE_LEN);
        put_varint(self.buf, data.len() as u64);
        self.buf.extend_from_slice(data);
    }

    /// A length-delimited field whose content `body` writes. The length is patched in
    /// afterwards, so nested messages need no separate size pass.
    pub fn message(&mut self, field: u32, body: impl FnOnce(&mut Writer<'_>)) {
        self.tag(field, WIRE_LEN);
        let len_at = self.buf.len();
        self.buf.push(0);
        body(&mut Writer { buf: self.buf });
        let len = (self.buf.len() - len_at - 1) as u64;
        if len < 0x80 {
            self.buf[len_at] = len as u8;
        } else {
            let mut prefix = Vec::with_capacity(10);
            put_varint(&mut prefix, len);
            self.buf.splice(len_at..=len_at, prefix);
        }
    }
}

/// A field value as found on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldValue<'a> {
    Varint(u64),
    Fixed64(u64),
    Len(&'a [u8]),
    Fixed32(u32),
}

impl<'a> FieldValue<'a> {
    fn kind(self) -> &'static str {
        match self {
            FieldValue::Varint(_) => "varint",
            FieldValue::Fixed64(_) => "fixed64",
            FieldValue::Len(_) => "length-delimited",
            FieldValue::Fixed32(_) => "fixed32",
        }
    }

    fn mismatch(self, want: &str) -> DecodeError {
        // Concatenated rather than formatted: keeps `core::fmt` out of the SDK's wasm.
        DecodeError::new(["expected ", want, ", found ", self.kind(), " field"].concat())
    }

    pub fn varint(self) -> Result<u64, DecodeError> {
        match self {
            FieldValue::Varint(v) => Ok(v),
            other => Err(other.mismatch("a varint")),
        }
    }

    /// `uint32` (upper bits of a longer varint are dropped, as protobuf does).
    pub fn uint32(self) -> Result<u32, DecodeError> {
        self.varint().map(|v| v as u32)
    }

    /// `int32` / enum.
    pub fn int32(self) -> Result<i32, DecodeError> {
        self.varint().map(|v| v as i32)
    }

    pub fn sint32(self) -> Result<i32, DecodeError> {
        let v = self.varint()? as u32;
        Ok((v >> 1) as i32 ^ -((v & 1) as i32))
    }

    pub fn int64(self) -> Result<i64, DecodeError> {
        self.varint().map(|v| v as i64)
    }

    pub fn bool(self) -> Result<bool, DecodeError> {
        self.varint().map(|v| v != 0)
    }

    pub fn bytes(self) -> Result<&'a [u8], DecodeError> {
        match self {
            FieldValue::Len(b) => Ok(b),
            other => Err(other.mismatch("a length-delimited")),
        }
    }

    /// A `string`: must be valid UTF-8.
    pub fn string(self) -> Result<&'a str, DecodeError> {
        core::str::from_utf8(self.bytes()?)
            .map_err(|_| DecodeError::new("string field is not valid UTF-8"))
    }
}

/// Iterates over the fields of one encoded message.
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    /// The next field number and value; `Ok(None)` at the end of the message.
    pub fn next_field(&mut self) -> Result<Option<(u32, FieldValue<'a>)>, DecodeError> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let (key, n) = get_varint(self.buf)?;
        self.buf = &self.buf[n..];
        let number =
            u32::try_from(key >> 3).map_err(|_| DecodeError::new("field number out of range"))?;
        if number == 0 {
            return Err(DecodeError::new("field number 0"));
        }
        let value = match (key & 7) as u32 {
            WIRE_VARINT => {
                let (v, n) = get_varint(self.buf)?;
                self.buf = &self.buf[n..];
                FieldValue::Varint(v)
            }
            WIRE_I64 => FieldValue::Fixed64(u64::from_le_bytes(
                self.take(8)?.try_into().unwrap_or_default(),
            )),
            WIRE_LEN => {
                let (len, n) = get_varint(self.buf)?;
                self.buf = &self.buf[n..];
                let len =
                    usize::try_from(len).map_err(|_| DecodeError::new("length out of range"))?;
                FieldValue::Len(self.take(len)?)
            }
            WIRE_I32 => FieldValue::Fixed32(u32::from_le_bytes(
                self.take(4)?.try_into().unwrap_or_default(),
            )),
            _ => {
                return Err(DecodeError::new(
                    "unsupported wire type (groups are not used)",
                ));
            }
        };
        Ok(Some((number, value)))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() < n {
            return Err(DecodeError::new("truncated field"));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_boundaries() {
        for v in [0, 1, 127, 128, 300, 16383, 16384, u32::MAX as u64, u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(out.len(), varint_len(v), "{v}");
            assert_eq!(get_varint(&out).unwrap(), (v, out.len()));
        }
        let mut out = Vec::new();
        put_varint(&mut out, 300);
        assert_eq!(out, [0xac, 0x02]);
    }

    #[test]
    fn bad_varints_are_errors() {
        assert!(get_varint(&[0x80, 0x80]).is_err());
        assert!(get_varint(&[0xff; 10]).is_err());
        assert!(get_varint(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]).is_err());
        assert!(get_varint(&[]).is_err());
    }

    #[test]
    fn sint32_zigzag() {
        for (v, wire) in [
            (0, 0u64),
            (-1, 1),
            (1, 2),
            (-2, 3),
            (i32::MAX, 0xffff_fffe),
            (i32::MIN, 0xffff_ffff),
        ] {
            let mut out = Vec::new();
            Writer::new(&mut out).sint32(1, v);
            let mut r = Reader::new(&out);
            let (n, f) = r.next_field().unwrap().unwrap();
            assert_eq!((n, f), (1, FieldValue::Varint(wire)));
            assert_eq!(f.sint32().unwrap(), v);
        }
    }

    #[test]
    fn nested_lengths_are_patched_for_long_bodies() {
        let long = vec![7u8; 300];
        let mut out = Vec::new();
        let mut w = Writer::new(&mut out);
        w.message(2, |w| w.bytes(1, &long));
        w.varint(3, 5);
        let mut r = Reader::new(&out);
        let (n, f) = r.next_field().unwrap().unwrap();
        assert_eq!(n, 2);
        let inner = f.bytes().unwrap();
        assert_eq!(inner.len(), 303);
        let mut ir = Reader::new(inner);
        assert_eq!(
            ir.next_field().unwrap(),
            Some((1, FieldValue::Len(&long[..])))
        );
        assert_eq!(r.next_field().unwrap(), Some((3, FieldValue::Varint(5))));
        assert_eq!(r.next_field().unwrap(), None);
    }

    #[test]
    fn malformed_fields_are_errors() {
        for bad in [
            &[0x0a, 0x05, 1][..],
            &[0x00, 0x01],
            &[0x0b],
            &[0x09, 1, 2],
            &[0x0d, 1],
        ] {
            let mut r = Reader::new(bad);
            assert!(r.next_field().is_err(), "{bad:?}");
        }
        assert!(FieldValue::Len(&[0xff]).string().is_err());
        assert!(FieldValue::Varint(1).bytes().is_err());
    }
}
