//! AWS account ids.

use std::fmt;

/// An AWS account id: exactly twelve ASCII digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId([u8; 12]);

impl AccountId {
    /// Parses exactly twelve digits.
    pub fn parse(text: &str) -> Result<AccountId, String> {
        let bytes: [u8; 12] = text
            .as_bytes()
            .try_into()
            .ok()
            .filter(|b: &[u8; 12]| b.iter().all(u8::is_ascii_digit))
            .ok_or_else(|| {
                format!("`{text}` is not an AWS account id; write its twelve digits, e.g. \"111111111111\"")
            })?;
        Ok(AccountId(bytes))
    }

    /// The twelve digits.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_twelve_digits() {
        assert_eq!(AccountId::parse("035475582903").unwrap().as_str(), "035475582903");
        for bad in ["", "12345678901", "1234567890123", "12345678901a", "١٢٣٤٥٦٧٨٩٠١٢"] {
            assert!(AccountId::parse(bad).is_err(), "{bad:?}");
        }
    }
}
