//! GEP validation: checks GEP folders (`index.md` + `metadata.yaml`) against the template's rules,
//! against the `GEPDetails` shape, and against each other.
//!
//! The checks are pure functions of file texts; [`load`] is the only part that reads the disk.
//! Used by `gep-bot validate`, and by the App on the files a pull request changes.

mod across;
mod finding;
mod fix;
mod gep;
mod index;
mod load;
mod markdown;
mod metadata;
mod report;
mod source;
mod template;
mod yaml_lines;

pub use across::check_transition;
pub use finding::{Code, Finding, Fix, Severity};
pub use fix::{Applied, Changed, apply};
pub use gep::{
    GepFiles, GepSet, GepSummary, Options, Validated, summarize, validate, validate_and_summarize,
};
pub use index::sections_owed;
pub use load::{LoadError, features_beside, features_in, load};
pub use report::{Format, Summary, render};
pub use source::{Position, SourceText};
pub use template::Template;
