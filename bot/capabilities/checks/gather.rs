//! What the check run reads, through the narrow [`Trees`] seam: the changed GEPs at the head and
//! at the base, the GEPs their relationships name, the GEP numbers on both sides, and the
//! repository's own template at the base.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::{try_join, try_join_all, try_join3};
use serde::Deserialize;

use crate::core::ExecError;
use crate::core::Trees;
use crate::domain::validate::{GepFiles, GepSet, SourceText, Template};

use super::{changed_geps, related_geps};
use crate::domain::gep::Features;
use crate::domain::gep::features::FEATURES_DIR;

/// At most this many related GEPs are read for a check run. Real GEPs name a few; the bound keeps
/// one `metadata.yaml` in a pull request from spending the installation's rate limit a read
/// per number it lists.
pub const MAX_RELATED_READS: usize = 20;

/// `[checks]` in `bot.toml`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct CheckRules {
    /// The template whose rules apply, a path in the repository read at the base commit
    /// (default: upstream's `gep-696/index.md` under the GEPs folder). Where the repository has
    /// none, gep-bot's built-in template applies.
    pub template: Option<String>,
    /// More headings for template sections: `"Purpose (Why and Who)" = ["Why"]`.
    pub section_aliases: BTreeMap<String, Vec<String>>,
}

impl CheckRules {
    pub fn template_path(&self, geps_dir: &str) -> String {
        self.template
            .clone()
            .unwrap_or_else(|| format!("{geps_dir}gep-696/index.md"))
    }

    /// The rules from a template's text read at the base (or the built-in ones where it is
    /// missing or says no rule), with the configured aliases.
    pub fn template(&self, path: &str, text: Option<String>) -> Template {
        let at_base = text.map(|text| {
            let (mut template, _) = Template::parse(&SourceText::new(path, text));
            template.origin = format!("`{path}` at the base commit");
            template
        });
        let template = match at_base {
            Some(template) if template.has_rules() => template,
            // A template older than the rules (upstream's before `[required_in]`) still says
            // how a GEP written to it looks: its title form and its placeholders.
            Some(old) => {
                let mut builtin = Template::builtin().with_form_of(&old);
                builtin.origin = format!(
                    "{} for the sections (`{path}` at the base commit has no rules; its title \
                     form and placeholders apply)",
                    builtin.origin
                );
                builtin
            }
            None => {
                let mut builtin = Template::builtin();
                builtin.origin = format!(
                    "{} (the repository has no rules at `{path}`)",
                    builtin.origin
                );
                builtin
            }
        };
        template.with_aliases(
            self.section_aliases
                .iter()
                .map(|(section, names)| (section.as_str(), names.as_slice())),
        )
    }
}

/// Both sides of a pull request's GEPs, as read.
#[derive(Debug, Clone)]
pub struct Gathered {
    pub head: GepSet,
    pub base: GepSet,
    pub known_head: BTreeSet<u32>,
    pub known_base: BTreeSet<u32>,
    pub template: Template,
    /// `pkg/features` at each side, read when a changed GEP there lists `featureNames`.
    pub features_head: Option<Features>,
    pub features_base: Option<Features>,
}

impl Gathered {
    /// What the judgement compares: both sides as gathered.
    pub fn change(&self) -> super::Change<'_> {
        super::Change {
            head: &self.head,
            base: &self.base,
            known_head: &self.known_head,
            known_base: &self.known_base,
            template: &self.template,
            features_head: self.features_head.as_ref(),
            features_base: self.features_base.as_ref(),
        }
    }
}

/// Where a pull request stands: its repository, commits and changed paths.
pub struct PullRequestTrees<'a> {
    pub repo: &'a str,
    pub head_sha: &'a str,
    pub base_sha: &'a str,
    pub changed_paths: &'a [String],
}

/// Reads both sides of a pull request's changed GEPs, in two rounds of reads made side by
/// side: first every changed GEP's files at the head and the base, the GEPs folder and the
/// template; then what those name (related GEPs' metadata, the feature definitions).
pub async fn gather(
    reads: &impl Trees,
    pull: &PullRequestTrees<'_>,
    geps_dir: &str,
    rules: &CheckRules,
) -> Result<Gathered, ExecError> {
    let repo = pull.repo;
    let read = async |path: String, at: &str| -> Result<Option<SourceText>, ExecError> {
        let text = reads.file_at(repo, &path, at).await?;
        Ok(text.map(|t| SourceText::new(path, t)))
    };
    let changed = changed_geps(pull.changed_paths, geps_dir);
    let sides = [(true, pull.head_sha), (false, pull.base_sha)];
    let gep_reads = changed.iter().flat_map(|&number| {
        let folder = format!("{geps_dir}gep-{number}");
        sides.map(|(is_head, at)| {
            let folder = folder.clone();
            async move {
                let (index, metadata) = try_join(
                    read(format!("{folder}/index.md"), at),
                    read(format!("{folder}/metadata.yaml"), at),
                )
                .await?;
                // Absent at the head: the pull request deletes (or renames) it; at the base:
                // adds it.
                let found = (index.is_some() || metadata.is_some()).then(|| GepFiles {
                    dir: folder.into(),
                    number: Some(number),
                    index,
                    metadata,
                    checked: true,
                });
                Ok::<_, ExecError>((is_head, found))
            }
        })
    });
    let template_path = rules.template_path(geps_dir);
    let (found, folder, template_text) = try_join3(
        try_join_all(gep_reads),
        reads.folder_at(repo, geps_dir.trim_end_matches('/'), pull.head_sha),
        reads.file_at(repo, &template_path, pull.base_sha),
    )
    .await?;
    let mut head = GepSet::default();
    let mut base = GepSet::default();
    for (is_head, gep) in found {
        let set = if is_head { &mut head } else { &mut base };
        set.geps.extend(gep);
    }
    // The GEPs the changed ones name in relationships, read at the head too, so that an
    // `obsoletes` or `extends` is checked against the other side.
    let changed: BTreeSet<u32> = head.geps.iter().filter_map(|g| g.number).collect();
    let named: BTreeSet<u32> = head
        .geps
        .iter()
        .filter_map(|g| g.metadata.as_ref())
        .flat_map(|m| related_geps(m.text()))
        .filter(|n| !changed.contains(n))
        .collect();
    if named.len() > MAX_RELATED_READS {
        tracing::warn!(
            named = named.len(),
            read = MAX_RELATED_READS,
            "the changed GEPs name more related GEPs than are read; the rest are checked by name only"
        );
    }
    let related = named.into_iter().take(MAX_RELATED_READS).map(|number| async move {
        let dir = format!("{geps_dir}gep-{number}");
        let metadata = read(format!("{dir}/metadata.yaml"), pull.head_sha).await?;
        Ok::<_, ExecError>(metadata.map(|metadata| GepFiles {
            dir: dir.into(),
            number: Some(number),
            index: None,
            metadata: Some(metadata),
            checked: false,
        }))
    });
    let (related, features_head, features_base) = try_join3(
        try_join_all(related),
        features_if_listed(reads, repo, geps_dir, &head, pull.head_sha),
        features_if_listed(reads, repo, geps_dir, &base, pull.base_sha),
    )
    .await?;
    head.geps.extend(related.into_iter().flatten());
    let known_head: BTreeSet<u32> = folder
        .iter()
        .filter_map(|name| crate::domain::gep::folder_number(name))
        .collect();
    // Only the changed GEPs' folders differ between the two commits.
    let numbers =
        |set: &GepSet| -> BTreeSet<u32> { set.geps.iter().filter_map(|g| g.number).collect() };
    let only_head: BTreeSet<u32> = numbers(&head)
        .difference(&numbers(&base))
        .copied()
        .collect();
    let known_base = known_head
        .difference(&only_head)
        .copied()
        .chain(numbers(&base))
        .collect();
    Ok(Gathered {
        head,
        base,
        known_head,
        known_base,
        template: rules.template(&template_path, template_text),
        features_head,
        features_base,
    })
}

/// The repository's features at `at` (`pkg/features/*.go` beside the GEPs folder), read only
/// when a checked GEP of `set` lists feature names: `None` where there are none to check or the
/// repository defines no features.
pub async fn features_if_listed(
    reads: &impl Trees,
    repo: &str,
    geps_dir: &str,
    set: &GepSet,
    at: &str,
) -> Result<Option<Features>, ExecError> {
    if !set.lists_features() {
        return Ok(None);
    }
    // The repository's root is the GEPs folder's parent.
    let root = geps_dir
        .trim_end_matches('/')
        .rsplit_once('/')
        .map_or(String::new(), |(parent, _)| format!("{parent}/"));
    let dir = format!("{root}{FEATURES_DIR}");
    let names = reads.folder_at(repo, &dir, at).await?;
    let files = names
        .iter()
        .filter(|name| name.ends_with(".go") && !name.ends_with("_test.go"))
        .map(|name| {
            let path = format!("{dir}/{name}");
            async move { reads.file_at(repo, &path, at).await }
        });
    let texts: Vec<String> = try_join_all(files).await?.into_iter().flatten().collect();
    let features = Features::from_go(texts.iter().map(String::as_str));
    Ok((!features.is_empty()).then_some(features))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::MemoryRepo;

    const TEMPLATE: &str =
        "## TLDR\n\n[required_in]: # (Provisional status and above)\n\n(summary)\n";

    fn metadata(number: u32, extra: &str) -> String {
        format!(
            "apiVersion: internal.gateway.networking.k8s.io/v1alpha1\nkind: GEPDetails\nnumber: {number}\nname: G\nstatus: Provisional\nauthors: [a]\n{extra}"
        )
    }

    fn pull<'a>(changed: &'a [String]) -> PullRequestTrees<'a> {
        PullRequestTrees {
            repo: "o/r",
            head_sha: "head",
            base_sha: "base",
            changed_paths: changed,
        }
    }

    async fn gathered(trees: &MemoryRepo, changed: &[&str]) -> Gathered {
        let changed: Vec<String> = changed.iter().map(|s| s.to_string()).collect();
        gather(trees, &pull(&changed), "geps/", &CheckRules::default())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn both_sides_of_each_changed_gep_are_read_and_a_deleted_one_is_only_at_the_base() {
        let mut trees = MemoryRepo::default();
        for at in ["base", "head"] {
            trees.put(at, "geps/gep-1/metadata.yaml", metadata(1, ""));
            trees.put(at, "geps/gep-1/index.md", "x");
            trees.put(at, "geps/gep-3/metadata.yaml", metadata(3, ""));
        }
        trees.put("base", "geps/gep-2/metadata.yaml", metadata(2, ""));
        trees.put("head", "geps/gep-4/metadata.yaml", metadata(4, ""));
        let got = gathered(
            &trees,
            &[
                "geps/gep-1/index.md",
                "geps/gep-2/metadata.yaml",
                "geps/gep-4/metadata.yaml",
            ],
        )
        .await;
        let numbers =
            |set: &GepSet| -> Vec<u32> { set.geps.iter().filter_map(|g| g.number).collect() };
        assert_eq!(numbers(&got.head), [1, 4]);
        assert_eq!(numbers(&got.base), [1, 2]);
        assert!(got.head.geps[0].index.is_some());
        // gep-3 is unchanged: known on both sides; gep-4 only at the head, gep-2 only at the base.
        assert_eq!(got.known_head, BTreeSet::from([1, 3, 4]));
        assert_eq!(got.known_base, BTreeSet::from([1, 2, 3]));
    }

    /// A pull request that writes a feature's Go constant for its name fails on that line,
    /// naming the real one; the same mistake already at the base is only a notice.
    #[tokio::test]
    async fn feature_names_are_checked_against_pkg_features_on_both_sides() {
        let go = "const (\n\tSupportHTTPRouteRetry FeatureName = \"HTTPRouteRetry\"\n)\n";
        let listed = |names: &str| metadata(1, &format!("featureNames:\n{names}"));
        let mut trees = MemoryRepo::default();
        for at in ["base", "head"] {
            trees.put(at, "pkg/features/httproute.go", go);
            trees.put(at, "pkg/features/features_test.go", "garbage");
        }
        trees.put(
            "base",
            "geps/gep-1/metadata.yaml",
            listed("  - SupportHTTPRouteRetry\n"),
        );
        trees.put(
            "head",
            "geps/gep-1/metadata.yaml",
            listed("  - SupportHTTPRouteRetry\n  - SupportHTTPRouteRetry\n  - NoSuchFeature\n"),
        );
        let got = gathered(&trees, &["geps/gep-1/metadata.yaml"]).await;
        assert_eq!(got.features_head.as_ref().map(Features::len), Some(1));
        let evaluation = crate::capabilities::checks::evaluate(&got.change());
        let features: Vec<_> = evaluation
            .findings
            .iter()
            .filter(|j| ["GEP034", "GEP035"].contains(&j.finding.code.as_str()))
            .map(|j| (j.finding.code.as_str(), j.finding.severity, j.finding.line))
            .collect();
        use crate::domain::validate::Severity::*;
        assert_eq!(
            features,
            [
                ("GEP034", Notice, 8),
                ("GEP034", Error, 9),
                ("GEP035", Warning, 10)
            ],
            "{:#?}",
            evaluation.findings
        );
        assert!(
            evaluation
                .findings
                .iter()
                .any(|j| j.finding.hint.contains("`HTTPRouteRetry`"))
        );
        // Nothing listed: pkg/features is not read at all.
        let mut plain = MemoryRepo::default();
        plain.put("head", "geps/gep-1/metadata.yaml", metadata(1, ""));
        plain.put("head", "pkg/features/httproute.go", go);
        let got = gathered(&plain, &["geps/gep-1/metadata.yaml"]).await;
        assert!(got.features_head.is_none());
    }

    #[tokio::test]
    async fn related_geps_are_read_at_the_head_up_to_the_bound() {
        let mut trees = MemoryRepo::default();
        let named: String = (100..400)
            .map(|n| format!("    - number: {n}\n      name: x\n"))
            .collect();
        trees.put(
            "head",
            "geps/gep-1/metadata.yaml",
            metadata(1, &format!("relationships:\n  seeAlso:\n{named}")),
        );
        for n in 100..400 {
            trees.put(
                "head",
                &format!("geps/gep-{n}/metadata.yaml"),
                metadata(n, ""),
            );
        }
        let got = gathered(&trees, &["geps/gep-1/metadata.yaml"]).await;
        let neighbours = got.head.geps.iter().filter(|g| !g.checked).count();
        assert_eq!(neighbours, MAX_RELATED_READS);
        // Two sides of one GEP (4), the neighbours, the folder and the template.
        assert_eq!(trees.reads(), 4 + MAX_RELATED_READS + 2);
    }

    #[tokio::test]
    async fn the_repositorys_template_at_the_base_gives_the_rules_else_the_built_in_one() {
        let mut trees = MemoryRepo::default();
        trees.put("head", "geps/gep-1/metadata.yaml", metadata(1, ""));
        let got = gathered(&trees, &["geps/gep-1/metadata.yaml"]).await;
        assert!(
            got.template.origin.contains("built-in"),
            "{}",
            got.template.origin
        );
        assert!(got.template.origin.contains("geps/gep-696/index.md"));

        trees.put("base", "geps/gep-696/index.md", TEMPLATE);
        let got = gathered(&trees, &["geps/gep-1/metadata.yaml"]).await;
        assert_eq!(
            got.template.origin,
            "`geps/gep-696/index.md` at the base commit"
        );
        assert_eq!(got.template.sections.len(), 1);

        // A file there that says no rule is no template.
        trees.put(
            "base",
            "geps/gep-696/index.md",
            "# Moved\n\nSee elsewhere.\n",
        );
        let got = gathered(&trees, &["geps/gep-1/metadata.yaml"]).await;
        assert!(got.template.origin.contains("built-in"));

        // A configured path and aliases.
        trees.put("base", "docs/template.md", TEMPLATE);
        let rules = CheckRules {
            template: Some("docs/template.md".into()),
            section_aliases: [("TLDR".to_owned(), vec!["Summary".to_owned()])].into(),
        };
        let changed = vec!["geps/gep-1/metadata.yaml".to_owned()];
        let got = gather(&trees, &pull(&changed), "geps/", &rules)
            .await
            .unwrap();
        assert_eq!(got.template.origin, "`docs/template.md` at the base commit");
        assert_eq!(got.template.section_for("Summary").unwrap().title, "TLDR");
    }
}
