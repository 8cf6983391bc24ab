//! Does the check fail a pull request only for what it introduces? Pull requests built from the
//! 36 real GEPs of `../shared/fixtures/gateway-api/geps` as branches of a git repository, each
//! judged by `gep-bot validate --base main` (the App's own gathering and judgement, on a
//! checkout) and, beside it, by the rule the App had before (every finding in a changed file an
//! error). Each pull request says whether it really introduces a defect; a failure on one that
//! does not is a false failure.
//!
//! `cargo test --test checks_precision -- --nocapture` prints the table and the rates.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use gep_bot::capabilities::checks;
use gep_bot::core::{Action, MemoryRepo};
use serde_json::Value;

struct Repo {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Repo {
    /// `main`: the real GEPs, committed.
    fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        copy_dir(&common::corpus(), &root.join("geps"));
        let repo = Repo { _dir: dir, root };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.commit("the real GEPs");
        repo
    }

    fn git(&self, args: &[&str]) -> String {
        common::git(&self.root, args)
    }

    fn commit(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
    }

    fn branch(&self, name: &str) {
        self.git(&["checkout", "-q", "main"]);
        self.git(&["checkout", "-q", "-b", name]);
    }

    fn edit(&self, path: &str, change: impl FnOnce(String) -> String) {
        let file = self.root.join(path);
        let text = std::fs::read_to_string(&file).unwrap();
        let changed = change(text.clone());
        assert!(changed != text, "{path}: the edit changed nothing");
        std::fs::write(file, changed).unwrap();
    }

    /// The check's verdict on the branch against main, and its errors as `CODE file:line`.
    fn judged(&self) -> (bool, Vec<String>) {
        let out = Command::new(common::bin())
            .current_dir(&self.root)
            .args(["validate", "geps", "--base", "main", "--format", "json"])
            .output()
            .unwrap();
        let code = out.status.code();
        assert!(
            matches!(code, Some(0 | 1)),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let errors = errors_in(&out.stdout);
        assert_eq!(code == Some(1), !errors.is_empty());
        (!errors.is_empty(), errors)
    }

    /// The App's check run on the same change: both trees served from memory to the App's own
    /// gathering, then its plan. Its conclusion and summary.
    fn app_check_run(&self) -> (String, String) {
        let mut trees = MemoryRepo::default();
        for (at, listing) in [
            ("base", self.git(&["ls-tree", "-r", "--name-only", "main"])),
            (
                "head",
                self.git(&["ls-files", "--cached", "--others", "--exclude-standard"]),
            ),
        ] {
            for path in listing.lines().filter(|p| p.starts_with("geps/")) {
                let text = if at == "base" {
                    self.git(&["show", &format!("main:{path}")])
                } else {
                    match std::fs::read_to_string(self.root.join(path)) {
                        Ok(text) => text,
                        Err(_) => continue, // deleted in the working tree
                    }
                };
                trees.put(at, path, text);
            }
        }
        let changed: Vec<String> = self
            .git(&["diff", "--name-only", "--no-renames", "main"])
            .lines()
            .chain(
                self.git(&["ls-files", "--others", "--exclude-standard"])
                    .lines(),
            )
            .map(str::to_owned)
            .collect();
        let pull = checks::PullRequestTrees {
            repo: "kubernetes-sigs/gateway-api",
            head_sha: "head",
            base_sha: "base",
            changed_paths: &changed,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let gathered = runtime
            .block_on(checks::gather(
                &trees,
                &pull,
                "geps/",
                &checks::CheckRules::default(),
            ))
            .unwrap();
        let plan = checks::plan(&checks::Input {
            repo: pull.repo,
            pull: 1,
            head_sha: "head",
            change: gathered.change(),
        });
        match &plan.actions[..] {
            [
                Action::CreateCheckRun {
                    conclusion,
                    summary,
                    ..
                },
            ] => (conclusion.clone(), summary.clone()),
            other => panic!("{other:?}"),
        }
    }

    /// The rule before: the changed GEPs validated at the head, every finding in a changed
    /// file an error.
    fn judged_strictly_on_changed_files(&self) -> bool {
        let changed = self.git(&["diff", "--name-only", "--no-renames", "main"]);
        let untracked = self.git(&["ls-files", "--others", "--exclude-standard"]);
        let files: Vec<&str> = changed.lines().chain(untracked.lines()).collect();
        let mut folders: Vec<&str> = files
            .iter()
            .filter_map(|f| f.rsplit_once('/').map(|(dir, _)| dir))
            .filter(|dir| self.root.join(dir).is_dir())
            .collect();
        folders.sort();
        folders.dedup();
        let out = Command::new(common::bin())
            .current_dir(&self.root)
            .args(["validate", "--format", "json"])
            .args(&folders)
            .output()
            .unwrap();
        findings_in(&out.stdout).into_iter().any(|f| {
            f["severity"] == "error"
                || files
                    .iter()
                    .any(|changed| f["file"].as_str() == Some(changed))
        })
    }
}

/// `validate --format json`'s findings, one JSON object a line.
fn findings_in(json_lines: &[u8]) -> Vec<Value> {
    json_lines
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice::<Value>(l).unwrap())
        .collect()
}

fn errors_in(json_lines: &[u8]) -> Vec<String> {
    findings_in(json_lines)
        .into_iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| {
            format!(
                "{} {}:{}",
                f["code"].as_str().unwrap(),
                f["file"].as_str().unwrap(),
                f["line"]
            )
        })
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A pull request: its name, whether it really introduces a defect, the error codes the check
/// must name when it does, and how to make it.
struct Pull {
    name: &'static str,
    defect: bool,
    must_name: &'static [&'static str],
    make: fn(&Repo),
}

const PULLS: &[Pull] = &[
    Pull {
        name: "a one-line typo fix in a GEP with old gaps (GEP-1323: a bad title, four sections missing)",
        defect: false,
        must_name: &[],
        make: |repo| {
            repo.edit("geps/gep-1323/index.md", |t| {
                t.replacen("it’d be helpful", "it would be helpful", 1)
            })
        },
    },
    Pull {
        name: "a link edit in GEP-1651, whose two files already disagree on its status",
        defect: false,
        must_name: &[],
        make: |repo| {
            repo.edit("geps/gep-1651/index.md", |t| {
                t.replacen("https://github.com/", "https://www.github.com/", 1)
            })
        },
    },
    Pull {
        name: "a mass edit of ten GEPs (the issue links moved to a new host name)",
        defect: false,
        must_name: &[],
        make: |repo| {
            for gep in [1016, 1294, 1323, 1364, 1619, 1686, 1713, 1731, 1748, 1911] {
                repo.edit(&format!("geps/gep-{gep}/index.md"), |t| {
                    t.replace(
                        "https://github.com/kubernetes-sigs",
                        "https://github.example/kubernetes-sigs",
                    )
                });
            }
        },
    },
    Pull {
        name: "a rename of GEP-3949 to GEP-4949 (folder, title, issue, number)",
        defect: false,
        must_name: &[],
        make: |repo| {
            repo.git(&["mv", "geps/gep-3949", "geps/gep-4949"]);
            repo.edit("geps/gep-4949/index.md", |t| t.replace("3949", "4949"));
            repo.edit("geps/gep-4949/metadata.yaml", |t| t.replace("3949", "4949"));
        },
    },
    Pull {
        name: "a new author added to GEP-4152, whose `extends` already stands at the top level",
        defect: false,
        must_name: &[],
        make: |repo| {
            repo.edit("geps/gep-4152/metadata.yaml", |t| {
                t.replacen("  - snorwin\n", "  - snorwin\n  - robscott\n", 1)
            })
        },
    },
    Pull {
        name: "GEP-3949 promoted to Experimental in metadata.yaml alone, with no feature name",
        defect: true,
        must_name: &["GEP010", "GEP051"],
        make: |repo| {
            repo.edit("geps/gep-3949/metadata.yaml", |t| {
                t.replace("status: Implementable", "status: Experimental")
            })
        },
    },
    Pull {
        name: "GEP-3949 promoted to Experimental in both files, with no feature name or graduation criteria",
        defect: true,
        // The sections Experimental asks for were missing at Implementable too: warnings (the
        // promotions test below); the missing feature name still fails it.
        must_name: &["GEP051"],
        make: |repo| {
            repo.edit("geps/gep-3949/metadata.yaml", |t| {
                t.replace("status: Implementable", "status: Experimental")
            });
            repo.edit("geps/gep-3949/index.md", |t| {
                t.replace("* Status: Implementable", "* Status: Experimental")
            });
        },
    },
    Pull {
        name: "a new GEP with an H1 title after the front matter",
        defect: true,
        must_name: &["GEP005"],
        make: |repo| {
            copy_gep(repo, "3949", "5999", "Implementable", "Provisional");
            repo.edit("geps/gep-5999/index.md", |t| {
                t.replace(
                    "* Status: Provisional",
                    "* Status: Provisional\n\n# Mesh Resource",
                )
            });
        },
    },
    Pull {
        name: "a release-style promotion of GEP-1619, GEP-1748 and GEP-3388 from Experimental to Standard",
        defect: false,
        must_name: &[],
        make: |repo| {
            for gep in ["1619", "1748", "3388"] {
                promote(repo, gep, "Experimental", "Standard");
            }
        },
    },
    Pull {
        name: "an older GEP-2627 moved from Provisional to Implementable",
        defect: false,
        must_name: &[],
        make: |repo| promote(repo, "2627", "Provisional", "Implementable"),
    },
    Pull {
        name: "the same promotion to Standard of a GEP new in the pull request",
        defect: true,
        must_name: &["GEP050", "GEP011"],
        make: |repo| copy_gep(repo, "1748", "5998", "Experimental", "Standard"),
    },
    Pull {
        name: "a `seeAlso` written at the top level of GEP-2907's metadata.yaml",
        defect: true,
        must_name: &["GEP029"],
        make: |repo| {
            repo.edit("geps/gep-2907/metadata.yaml", |t| {
                t + "seeAlso:\n  - number: 1713\n    name: ListenerSets\n"
            })
        },
    },
];

/// A new GEP `to` made from GEP `from`'s files, its status moved from `was` to `status`.
fn copy_gep(repo: &Repo, from: &str, to: &str, was: &str, status: &str) {
    copy_dir(
        &repo.root.join(format!("geps/gep-{from}")),
        &repo.root.join(format!("geps/gep-{to}")),
    );
    repo.edit(&format!("geps/gep-{to}/metadata.yaml"), |t| {
        t.replace(from, to)
            .replace(&format!("status: {was}"), &format!("status: {status}"))
    });
    repo.edit(&format!("geps/gep-{to}/index.md"), |t| {
        t.replace(from, to)
            .replace(&format!("* Status: {was}"), &format!("* Status: {status}"))
    });
}

/// Moves a GEP's status in both of its files, as a release manager does after a release.
fn promote(repo: &Repo, gep: &str, from: &str, to: &str) {
    repo.edit(&format!("geps/gep-{gep}/metadata.yaml"), |t| {
        t.replace(&format!("status: {from}"), &format!("status: {to}"))
    });
    repo.edit(&format!("geps/gep-{gep}/index.md"), |t| {
        t.replace(&format!("* Status: {from}"), &format!("* Status: {to}"))
    });
}

/// The findings of `validate --base main` of one code and severity, as `CODE file`.
fn findings_of(repo: &Repo, code: &str, severity: &str) -> Vec<String> {
    let out = Command::new(common::bin())
        .current_dir(&repo.root)
        .args(["validate", "geps", "--base", "main", "--format", "json"])
        .output()
        .unwrap();
    findings_in(&out.stdout)
        .into_iter()
        .filter(|f| f["code"] == code && f["severity"] == severity)
        .map(|f| format!("{code} {}", f["file"].as_str().unwrap()))
        .collect()
}

/// A release manager's promotion of GEPs written before the template's `[required_in]` rules
/// passes: the sections the new status asks for that were missing before are warnings, named in
/// the check run's summary. The sections' findings are errors for a GEP new in the pull request
/// (the table above).
#[test]
fn a_promotion_of_older_geps_warns_of_the_sections_they_lacked_before_and_passes() {
    let repo = Repo::new();
    repo.branch("release-1-5-statuses");
    for gep in ["1619", "1748", "3388"] {
        promote(&repo, gep, "Experimental", "Standard");
    }
    let (fails, errors) = repo.judged();
    assert!(!fails, "{errors:?}");
    let warned = findings_of(&repo, "GEP011", "warning");
    for gep in ["1619", "1748", "3388"] {
        assert!(
            warned
                .iter()
                .any(|w| w.contains(&format!("gep-{gep}/index.md"))),
            "GEP-{gep}: {warned:?}"
        );
    }
    let (conclusion, summary) = repo.app_check_run();
    assert_eq!(conclusion, "success", "{summary}");
    assert!(
        summary.contains("GEP-1619 moves to Standard, which asks for")
            && summary.contains("missing before this pull request too"),
        "{summary}"
    );
    // A section the promotion deletes is the pull request's own doing: it fails.
    repo.edit("geps/gep-1619/index.md", |t| {
        t.replace("## Goals", "## Aims")
    });
    let (fails, errors) = repo.judged();
    assert!(fails, "deleting a section passed");
    assert!(errors.iter().any(|e| e.starts_with("GEP011")), "{errors:?}");
}

/// Upstream's template before front matter and before its `[required_in]` rules: an H1 title,
/// no rules. A GEP written to it in a pull request whose base has it is judged by its form.
fn old_style_template(text: String) -> String {
    let body = text
        .split_once("---\n")
        .and_then(|(_, rest)| rest.split_once("---\n"))
        .map_or(text.as_str(), |(_, body)| body);
    let body: String = body
        .lines()
        .filter(|l| !l.starts_with("[required_in]") && !l.starts_with("( Required for"))
        .map(|l| format!("{l}\n"))
        .collect();
    format!("# GEP-696: GEP template\n{body}")
}

#[test]
fn a_new_gep_written_to_the_h1_titled_template_at_its_base_passes() {
    let repo = Repo::new();
    repo.edit("geps/gep-696/index.md", old_style_template);
    repo.commit("the template as it stood before front matter");
    repo.branch("new-gep-in-the-old-form");
    std::fs::create_dir_all(repo.root.join("geps/gep-5997")).unwrap();
    let section = |title: &str| format!("## {title}\n\nWhat this GEP says about {title}.\n\n");
    let index = format!(
        "# GEP-5997: Mesh Widgets\n\n* Issue: [#5997](https://github.com/kubernetes-sigs/gateway-api/issues/5997)\n\
         * Status: Provisional\n\n{}",
        [
            "TLDR",
            "Goals",
            "Non-Goals",
            "Introduction/Overview",
            "Purpose (Why and Who)"
        ]
        .map(section)
        .concat()
    );
    std::fs::write(repo.root.join("geps/gep-5997/index.md"), index).unwrap();
    std::fs::write(
        repo.root.join("geps/gep-5997/metadata.yaml"),
        "apiVersion: internal.gateway.networking.k8s.io/v1alpha1\nkind: GEPDetails\nnumber: 5997\n\
         name: Mesh Widgets\nstatus: Provisional\nauthors:\n  - octocat\n",
    )
    .unwrap();
    let (fails, errors) = repo.judged();
    assert!(!fails, "{errors:?}");
    for code in ["GEP002", "GEP005", "GEP013"] {
        assert!(
            findings_of(&repo, code, "error").is_empty(),
            "{code}: {errors:?}"
        );
    }
    let (conclusion, summary) = repo.app_check_run();
    assert_eq!(conclusion, "success", "{summary}");
    assert!(
        summary.contains("its title form and placeholders apply"),
        "{summary}"
    );
}

#[test]
fn the_check_fails_only_the_pull_requests_that_introduce_a_defect() {
    let repo = Repo::new();
    let mut rows = Vec::new();
    let (mut false_now, mut false_before, mut clean) = (0, 0, 0);
    for pull in PULLS {
        repo.branch(&pull.name.replace(|c: char| !c.is_ascii_alphanumeric(), "-")[..40]);
        (pull.make)(&repo);
        let (fails, errors) = repo.judged();
        let failed_before = repo.judged_strictly_on_changed_files();
        // The App says what the command line says, on the same trees, and names the old gaps.
        let (conclusion, summary) = repo.app_check_run();
        assert_eq!(conclusion == "failure", fails, "{}: {summary}", pull.name);
        assert!(
            summary.contains("Rules: `geps/gep-696/index.md` at the base commit."),
            "{summary}"
        );
        if !pull.defect {
            assert!(
                summary.contains("existed before this pull request")
                    || summary.contains("missing before this pull request too"),
                "{}: {summary}",
                pull.name
            );
        }
        repo.commit(pull.name);
        if !pull.defect {
            clean += 1;
            false_now += usize::from(fails);
            false_before += usize::from(failed_before);
        }
        rows.push(format!(
            "| {} | {} | {} | {} |",
            pull.name,
            if pull.defect { "yes" } else { "no" },
            if failed_before { "failure" } else { "success" },
            if fails {
                format!("failure: {}", errors.join(", "))
            } else {
                "success".into()
            },
        ));
        assert_eq!(fails, pull.defect, "{}: {errors:?}", pull.name);
        for code in pull.must_name {
            assert!(
                errors.iter().any(|e| e.starts_with(code)),
                "{}: {code} not among {errors:?}",
                pull.name
            );
        }
    }
    println!(
        "| pull request | defect | before (strict on changed files) | now (new against the base) |"
    );
    println!("|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
    println!(
        "false failures: before {false_before} of {clean} clean pull requests, now {false_now} of {clean}"
    );
    // The old rule failed the clean ones too: the measurement compares like with like.
    assert!(false_before >= 4, "{false_before}");
}
