//! Hex digits, for every encoder that writes them: JSON's `\u00XX` escapes (lower case) and the
//! SDK's URL percent-encoding (upper case, as `encodeURIComponent` writes).

/// Lower-case digits.
pub const LOWER: &[u8; 16] = b"0123456789abcdef";
/// Upper-case digits.
pub const UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// The digit of `n`'s low four bits, from `digits` ([`LOWER`] or [`UPPER`]).
pub fn digit(n: u8, digits: &[u8; 16]) -> u8 {
    digits[usize::from(n & 15)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn low_four_bits_in_the_asked_case() {
        assert_eq!([digit(0x1f >> 4, LOWER), digit(0x1f, LOWER)], *b"1f");
        assert_eq!([digit(0xc3 >> 4, UPPER), digit(0xc3, UPPER)], *b"C3");
        assert_eq!(digit(0, UPPER), b'0');
    }
}
