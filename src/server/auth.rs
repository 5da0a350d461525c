//! Bearer tokens: HS256/384/512 JWTs signed with `TOKEN_SECRET`, verified with the algorithm
//! pinned by `JWT_ALGORITHM` (a token naming another one, or `none`, is refused), `exp` and
//! `sub` required, 60 s of clock-skew leeway. A token only names the user: roles and the
//! super-admin flag come from the catalog and the configuration.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::Settings;
use crate::error::{Error, Result};

/// The shortest `TOKEN_SECRET` accepted: 32 bytes, the HS256 key size.
pub const MIN_SECRET_BYTES: usize = 32;
/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 60;
/// The longest a token may live: `lrt token issue` refuses more, and a token whose `exp` is
/// further away than this (an `exp` of 2^64-1, say) is refused, whoever signed it.
pub const MAX_LIFETIME_SECS: u64 = 30 * 86_400;

/// The claims lrt issues and reads. Extra claims (a `role`, a `tenant_id`) are ignored.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
}

/// A signing and verifying key with its pinned algorithm.
#[derive(Clone)]
pub struct TokenKeys {
    algorithm: Algorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.debug_struct("TokenKeys")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// `JWT_ALGORITHM`: only the HMAC family, since the secret is a shared one.
pub fn algorithm(raw: &str) -> Result<Algorithm> {
    match raw.trim().to_ascii_uppercase().as_str() {
        "HS256" => Ok(Algorithm::HS256),
        "HS384" => Ok(Algorithm::HS384),
        "HS512" => Ok(Algorithm::HS512),
        _ => Err(Error::Usage(format!(
            "JWT_ALGORITHM {raw:?} is not supported: use HS256, HS384 or HS512"
        ))),
    }
}

impl TokenKeys {
    /// The keys of the configuration; refuses a missing or short secret and any algorithm
    /// outside HS256/384/512, so a server never starts fail-open.
    pub fn from_settings(settings: &Settings) -> Result<TokenKeys> {
        let algorithm = algorithm(&settings.jwt_algorithm.value)?;
        let secret = settings.token_secret.value.as_deref().ok_or_else(|| {
            Error::Usage(format!(
                "TOKEN_SECRET is not set: set it (at least {MIN_SECRET_BYTES} random bytes) in the environment or [auth] token_secret"
            ))
        })?;
        if secret.len() < MIN_SECRET_BYTES {
            return Err(Error::Usage(format!(
                "TOKEN_SECRET is too short ({} bytes): use at least {MIN_SECRET_BYTES} random bytes",
                secret.len()
            )));
        }
        let mut validation = Validation::new(algorithm);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Ok(TokenKeys {
            algorithm,
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
        })
    }

    /// A token for `user` valid for `ttl_secs` from now, issued (`iat`) no earlier than
    /// `floor`: the user's revocation not-before, which may be up to a second ahead.
    pub fn issue(&self, user: &str, ttl_secs: u64, floor: Option<u64>) -> Result<(String, u64)> {
        if ttl_secs > MAX_LIFETIME_SECS {
            return Err(Error::Usage(format!(
                "a token may live at most {} days (asked for {ttl_secs} s)",
                MAX_LIFETIME_SECS / 86_400
            )));
        }
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: user.to_string(),
            exp: now.saturating_add(ttl_secs),
            iat: Some(floor.map_or(now, |f| f.max(now))),
        };
        let token = jsonwebtoken::encode(&Header::new(self.algorithm), &claims, &self.encoding)
            .map_err(|e| Error::Internal(format!("cannot sign the token: {e}")))?;
        Ok((token, claims.exp))
    }

    /// The claims of a valid token (whether it was revoked is the catalog's to say). Every
    /// failure is `Unauthenticated`, with a reason that says what was wrong with the token but
    /// nothing about the secret.
    pub fn verify(&self, token: &str) -> Result<Claims> {
        use jsonwebtoken::errors::ErrorKind as J;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| {
            let why = match e.kind() {
                J::ExpiredSignature => "the token has expired",
                J::ImmatureSignature => "the token is not valid yet",
                J::InvalidSignature => "the token's signature is invalid",
                J::InvalidAlgorithm => "the token is signed with another algorithm",
                J::MissingRequiredClaim(_) => "the token lacks a required claim (sub, exp)",
                _ => "the token is malformed",
            };
            Error::Unauthenticated(why.into())
        })?;
        let latest = jsonwebtoken::get_current_timestamp().saturating_add(MAX_LIFETIME_SECS + LEEWAY_SECS);
        if data.claims.exp > latest {
            return Err(Error::Unauthenticated(format!(
                "the token's lifetime exceeds the server's maximum of {} days",
                MAX_LIFETIME_SECS / 86_400
            )));
        }
        if data.claims.sub.trim().is_empty() {
            return Err(Error::Unauthenticated("the token's subject is empty".into()));
        }
        Ok(data.claims)
    }
}

/// Parses `--expires-in`: `30m`, `24h`, `7d`, `2w` or plain seconds.
pub fn parse_ttl(raw: &str) -> Result<u64> {
    parse_secs("--expires-in", raw)
}

/// Parses a duration flag's value, `30s`, `5m`, `24h`, `7d`, `2w` or plain seconds, into
/// seconds (at least one).
pub fn parse_secs(flag: &str, raw: &str) -> Result<u64> {
    let bad = || Error::Usage(format!("invalid {flag} {raw:?}: use e.g. 30s, 5m, 24h, 7d or 2w"));
    let s = raw.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: u64 = number.parse().map_err(|_| bad())?;
    let per = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(bad()),
    };
    match n.checked_mul(per) {
        Some(0) | None => Err(bad()),
        Some(secs) => Ok(secs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Default settings (no config file, no environment).
    fn settings() -> Settings {
        struct NoEnv;
        impl crate::config::Env for NoEnv {
            fn get(&self, _: &str) -> Option<String> {
                None
            }
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("empty.toml"), "").unwrap();
        let flags = crate::config::Overrides {
            config: Some(dir.path().join("empty.toml")),
            data_dir: Some(dir.path().join("data")),
        };
        Settings::load(&flags, &NoEnv).unwrap()
    }

    fn keys(alg: &str, secret: &str) -> TokenKeys {
        let mut settings = settings();
        settings.jwt_algorithm.value = alg.into();
        settings.token_secret.value = Some(secret.into());
        TokenKeys::from_settings(&settings).unwrap()
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn round_trip_and_pinned_algorithm() {
        let k = keys("HS256", SECRET);
        let (t, _) = k.issue("alice", 60, None).unwrap();
        assert_eq!(k.verify(&t).unwrap().sub, "alice");
        let (other, _) = keys("HS512", SECRET).issue("alice", 60, None).unwrap();
        assert!(matches!(k.verify(&other), Err(Error::Unauthenticated(_))));
        let (forged, _) = keys("HS256", "another-secret-another-secret-32b")
            .issue("alice", 60, None)
            .unwrap();
        assert!(matches!(k.verify(&forged), Err(Error::Unauthenticated(_))));
    }

    #[test]
    fn short_secrets_and_other_algorithms_are_refused() {
        let mut settings = settings();
        settings.token_secret.value = Some("short".into());
        assert!(matches!(TokenKeys::from_settings(&settings), Err(Error::Usage(_))));
        settings.token_secret.value = Some(SECRET.into());
        for alg in ["none", "RS256", ""] {
            settings.jwt_algorithm.value = alg.into();
            assert!(TokenKeys::from_settings(&settings).is_err(), "{alg}");
        }
    }

    #[test]
    fn ttl_units() {
        assert_eq!(parse_ttl("24h").unwrap(), 86_400);
        assert_eq!(parse_ttl("90").unwrap(), 90);
        assert!(parse_ttl("0h").is_err());
        assert!(parse_ttl("3y").is_err());
        assert_eq!(parse_secs("--request-timeout", "30s").unwrap(), 30);
        let e = parse_secs("--request-timeout", "soon").unwrap_err().to_string();
        assert!(e.contains("--request-timeout"), "{e}");
    }
}
