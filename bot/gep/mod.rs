//! The GEP domain shared by every capability: the status lifecycle and how a GEP folder is named.
//!
//! Not for checking documents (that is `validate`) nor for talking to GitHub.

mod status;

pub use status::Status;

/// The GEP number of a folder named `gep-N`, if it is one.
pub fn folder_number(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("gep-")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
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
