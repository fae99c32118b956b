//! Randomness for ids, names and secrets, from the OS source through `getrandom`: one reader of
//! the source, so that no caller ignores a short read or a failure.

/// The characters of generated ids and names: what E2B's ids use, and safe in paths and cgroups.
const NAME_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// Fills `buf` from the OS random source. Without one nothing sandboxd makes is safe to hand
/// out (keys, signatures, ids), so its absence is a panic, not an error to carry.
pub fn fill(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the OS random source is available");
}

/// `bytes` random bytes as lowercase hex (`2 * bytes` characters).
pub fn hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    fill(&mut buf);
    hex::encode(buf)
}

/// `len` random characters of `[a-z0-9]`. 256 is not a multiple of 36, so the first four
/// letters are very slightly more likely: names need uniqueness, not uniformity.
pub fn name(len: usize) -> String {
    let mut buf = vec![0u8; len];
    fill(&mut buf);
    buf.iter()
        .map(|b| NAME_ALPHABET[*b as usize % NAME_ALPHABET.len()] as char)
        .collect()
}

/// A random UUID v4 in its usual text form (for `/proc/sys/kernel/random/boot_id`).
pub fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_hex_have_their_length_and_alphabet_and_differ() {
        let (a, b) = (name(20), name(20));
        assert_eq!(a.len(), 20);
        assert!(a.bytes().all(|c| NAME_ALPHABET.contains(&c)));
        assert_ne!(a, b);
        let h = hex(8);
        assert_eq!(h.len(), 16);
        assert!(
            h.bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }

    #[test]
    fn uuids_have_version_and_variant_bits() {
        let u = uuid_v4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(u, uuid_v4());
    }
}
