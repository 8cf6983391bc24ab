//! The GEP domain shared by every capability: the status lifecycle and how a GEP folder is named.
//!
//! Not for checking documents (that is `validate`) nor for talking to GitHub.

pub mod features;
mod status;

pub use features::Features;
pub use status::Status;

/// The GEP number of a folder named `gep-N`, if it is one (and N fits: GEP numbers are the
/// tracking issues' numbers).
pub fn folder_number(name: &str) -> Option<u32> {
    folder_digits(name)?.parse().ok()
}

/// The digits of a folder named like `gep-N`, whether or not N fits a GEP number.
pub fn folder_digits(name: &str) -> Option<&str> {
    let digits = name.strip_prefix("gep-")?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_number_reads_only_gep_dash_digits() {
        assert_eq!(folder_number("gep-1686"), Some(1686));
        assert_eq!(folder_number("gep-"), None);
        assert_eq!(folder_number("gep-12a"), None);
        assert_eq!(folder_number("overview"), None);
    }
}
