//! Randomness from the operating system, encoded for humans and URLs.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// `n` random bytes, base64url without padding.
pub fn token(n: usize) -> String {
    URL_SAFE_NO_PAD.encode(bytes(n))
}

pub fn bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    // The OS RNG failing is not something a server can carry on from.
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut buf).expect("operating system RNG unavailable");
    buf
}

/// Lower-case alphanumeric identifier of `n` characters (for ids people read).
pub fn alnum(n: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    // 252 = 7 * 36: rejecting bytes >= 252 keeps the distribution uniform.
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in bytes(n * 2) {
            if b < 252 && out.len() < n {
                out.push(ALPHABET[(b % 36) as usize] as char);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn alnum_has_length_and_alphabet() {
        let s = super::alnum(20);
        assert_eq!(s.len(), 20);
        assert!(
            s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        );
        assert_ne!(super::alnum(20), s);
    }
}
