//! `X-Hub-Signature-256`: HMAC-SHA256 of the raw body with the webhook secret, compared in
//! constant time. Several secrets are accepted at once so a secret can be rotated without
//! dropping deliveries.

use hmac::{Hmac, Mac};
use sha2::Sha256;

#[derive(Clone, Default)]
pub struct Secrets(Vec<Vec<u8>>);

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets(<{} redacted>)", self.0.len())
    }
}

impl Secrets {
    /// From `GEP_BOT_WEBHOOK_SECRET`: a comma-separated list.
    pub fn parse(list: &str) -> Secrets {
        Secrets(
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| s.as_bytes().to_vec())
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn verify(&self, header: &str, body: &[u8]) -> bool {
        let Some(hex_digest) = header.strip_prefix("sha256=") else {
            return false;
        };
        let Ok(expected) = hex::decode(hex_digest) else {
            return false;
        };
        self.0.iter().any(|secret| {
            let mut mac =
                Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
            mac.update(body);
            mac.verify_slice(&expected).is_ok()
        })
    }
}

/// The header value GitHub would send for `body` (used by tests, the benchmark and `replay`).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_configured_secret_verifies_and_others_do_not() {
        let secrets = Secrets::parse("old, new");
        assert!(secrets.verify(&sign(b"new", b"{}"), b"{}"));
        assert!(secrets.verify(&sign(b"old", b"{}"), b"{}"));
        assert!(!secrets.verify(&sign(b"other", b"{}"), b"{}"));
        assert!(!secrets.verify(&sign(b"new", b"{}"), b"{ }"));
        assert!(!secrets.verify("sha1=abc", b"{}"));
        assert!(!secrets.verify("sha256=zz", b"{}"));
        assert!(Secrets::parse(" , ").is_empty());
    }
}
