//! Hex digits of a byte, for every encoder that writes them: JSON's `\u00XX` escapes (lower
//! case) and the SDK's URL percent-encoding (upper case, as `encodeURIComponent` writes).

/// Which letters `a`–`f` are written with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    Lower,
    Upper,
}

/// The two hex digits of `b`, high first. Inlined: with the case known, only its table remains.
#[inline]
pub fn byte(b: u8, case: Case) -> [u8; 2] {
    let digits: &[u8; 16] = match case {
        Case::Lower => b"0123456789abcdef",
        Case::Upper => b"0123456789ABCDEF",
    };
    [digits[usize::from(b >> 4)], digits[usize::from(b & 15)]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_digits_in_the_asked_case() {
        assert_eq!(&byte(0x1f, Case::Lower), b"1f");
        assert_eq!(&byte(0xc3, Case::Upper), b"C3");
        assert_eq!(&byte(0, Case::Upper), b"00");
    }
}
