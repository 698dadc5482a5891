//! Signed links in pages: `/p/{token}`, the token naming a page (and so its alarm and its
//! person) and an expiry, signed with HMAC-SHA256 under the site's secret. 32 bytes in
//! base64url (43 characters), short enough for an SMS. Single use is the store's job
//! (`pages.link_used_ms`); here only who and until when.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Why a link is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// Not one of ours: malformed or the signature does not match.
    Forged,
    /// Ours, but past its time.
    Expired,
}

/// Makes and checks links.
#[derive(Clone)]
pub struct Links {
    key: Vec<u8>,
    ttl: Duration,
    base: String,
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Links")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

const MAC_BYTES: usize = 16;

impl Links {
    /// Links under `base` (`https://host`), valid for `ttl`.
    pub fn new(secret: &str, ttl: Duration, base: &str) -> Links {
        Links {
            key: secret.as_bytes().to_vec(),
            ttl,
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    /// The console's address (for summaries).
    pub fn base(&self) -> &str {
        &self.base
    }

    fn mac(&self, body: &[u8]) -> Hmac<Sha256> {
        #[allow(clippy::expect_used)] // HMAC takes a key of any length
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(body);
        mac
    }

    /// The token for page `page`, made at `now`.
    pub fn token(&self, page: i64, now: DateTime<Utc>) -> String {
        let expires = (now + self.ttl).timestamp();
        let mut bytes = Vec::with_capacity(32);
        bytes.extend_from_slice(&page.to_be_bytes());
        bytes.extend_from_slice(&expires.to_be_bytes());
        let tag = self.mac(&bytes).finalize().into_bytes();
        bytes.extend_from_slice(&tag[..MAC_BYTES]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The whole link for page `page`.
    pub fn link(&self, page: i64, now: DateTime<Utc>) -> String {
        format!("{}/p/{}", self.base, self.token(page, now))
    }

    /// The page a token names, if it is ours and not expired at `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<i64, LinkError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| LinkError::Forged)?;
        if bytes.len() != 16 + MAC_BYTES {
            return Err(LinkError::Forged);
        }
        let (body, tag) = bytes.split_at(16);
        self.mac(body)
            .verify_truncated_left(tag)
            .map_err(|_| LinkError::Forged)?;
        let page = i64::from_be_bytes(body[..8].try_into().map_err(|_| LinkError::Forged)?);
        let expires = i64::from_be_bytes(body[8..].try_into().map_err(|_| LinkError::Forged)?);
        if now.timestamp() >= expires {
            return Err(LinkError::Expired);
        }
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};

    use super::{LinkError, Links};

    #[test]
    fn a_link_names_its_page_until_it_expires_and_cannot_be_forged() {
        let links = Links::new(
            "0123456789abcdef0123456789abcdef",
            Duration::hours(2),
            "https://sw.example.cn/",
        );
        let t0 = Utc
            .with_ymd_and_hms(2026, 12, 8, 3, 0, 0)
            .single()
            .expect("time");
        let token = links.token(42, t0);
        assert_eq!(token.len(), 43);
        assert_eq!(links.verify(&token, t0 + Duration::minutes(119)), Ok(42));
        assert_eq!(
            links.verify(&token, t0 + Duration::hours(2)),
            Err(LinkError::Expired)
        );
        let mut forged = token.into_bytes();
        forged[3] = if forged[3] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).expect("ascii");
        assert_eq!(links.verify(&forged, t0), Err(LinkError::Forged));
        let other = Links::new(
            "another secret of thirty-two chars!",
            Duration::hours(2),
            "x",
        );
        assert_eq!(
            other.verify(&links.token(42, t0), t0),
            Err(LinkError::Forged)
        );
        assert!(links.link(42, t0).starts_with("https://sw.example.cn/p/"));
    }
}
