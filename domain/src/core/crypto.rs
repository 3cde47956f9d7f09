//! Personal data at rest: AES-256-GCM with a random nonce per value, the key's id stored in
//! every value (so a later key rotation can tell old from new), and an HMAC-SHA256 blind index
//! for equality look-ups (de-duplication, search by ID number) without decrypting.
use crate::core::error::{DomainError, DomainResult};
use crate::core::settings::Keys;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Which personal field a value belongs to: blind indexes of different fields never collide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PiiField {
    IdNumber,
    Phone,
    BankAccount,
}

impl PiiField {
    fn label(self) -> &'static [u8] {
        match self {
            PiiField::IdNumber => b"id_number",
            PiiField::Phone => b"phone",
            PiiField::BankAccount => b"bank_account",
        }
    }
}

#[derive(Clone)]
pub struct FieldCipher {
    cipher: Aes256Gcm,
    key_id: String,
    index_key: [u8; 32],
}

impl std::fmt::Debug for FieldCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FieldCipher(key {})", self.key_id)
    }
}

impl FieldCipher {
    pub fn new(keys: &Keys) -> FieldCipher {
        let key_id =
            hex::encode(&Sha256::digest([b"songnuan-key-id:".as_slice(), &keys.field].concat())[..4]);
        FieldCipher {
            cipher: Aes256Gcm::new_from_slice(&keys.field).expect("32-byte key"),
            key_id,
            index_key: keys.blind_index,
        }
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// `v1.<key id>.<base64(nonce ‖ ciphertext ‖ tag)>`
    pub fn encrypt(&self, clear: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), clear.as_bytes())
            .expect("AES-GCM encryption does not fail for in-memory data");
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&sealed);
        format!("v1.{}.{}", self.key_id, STANDARD_NO_PAD.encode(blob))
    }

    pub fn decrypt(&self, stored: &str) -> DomainResult<String> {
        let broken = || DomainError::internal(anyhow::anyhow!("encrypted field cannot be decrypted"));
        let mut parts = stored.splitn(3, '.');
        let (Some("v1"), Some(kid), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(broken());
        };
        if kid != self.key_id {
            return Err(DomainError::internal(anyhow::anyhow!(
                "field encrypted with key {kid}, current key is {}",
                self.key_id
            )));
        }
        let blob = STANDARD_NO_PAD.decode(b64).map_err(|_| broken())?;
        if blob.len() < 12 + 16 {
            return Err(broken());
        }
        let (nonce, sealed) = blob.split_at(12);
        let clear = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), sealed)
            .map_err(|_| broken())?;
        String::from_utf8(clear).map_err(|_| broken())
    }

    /// Deterministic keyed hash of a normalised value (hex, 128 bits).
    pub fn blind_index(&self, field: PiiField, normalised: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.index_key).expect("any key length");
        mac.update(field.label());
        mac.update(b":");
        mac.update(normalised.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(secret: &[u8]) -> FieldCipher {
        FieldCipher::new(&Keys::derive(secret))
    }

    #[test]
    fn round_trip_random_nonce_and_tamper_detection() {
        let c = cipher(b"0123456789abcdef0123456789abcdef");
        let a = c.encrypt("530124199001011234");
        let b = c.encrypt("530124199001011234");
        assert_ne!(a, b, "a random nonce per value");
        assert!(!a.contains("530124199001011234"));
        assert!(a.starts_with(&format!("v1.{}.", c.key_id())));
        assert_eq!(c.decrypt(&a).unwrap(), "530124199001011234");
        let mut tampered = a.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        assert!(c.decrypt(&tampered).is_err());
        let other = cipher(b"another-secret-another-secret-xx");
        assert!(other.decrypt(&a).is_err());
    }

    #[test]
    fn blind_index_is_deterministic_per_field_and_key() {
        let c = cipher(b"0123456789abcdef0123456789abcdef");
        let x = c.blind_index(PiiField::IdNumber, "11010519491231002X");
        assert_eq!(x, c.blind_index(PiiField::IdNumber, "11010519491231002X"));
        assert_ne!(x, c.blind_index(PiiField::Phone, "11010519491231002X"));
        assert_ne!(
            x,
            cipher(b"another-secret-another-secret-xx").blind_index(PiiField::IdNumber, "11010519491231002X")
        );
        assert_eq!(x.len(), 32);
    }
}
