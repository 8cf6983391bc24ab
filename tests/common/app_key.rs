// A throwaway GitHub App key, as the tests', the benchmarks' and the GitHub client's unit tests'
// App uses (openssl makes it). Plain comments: the client's tests `include!` this file.

/// A new 2048-bit RSA key in PKCS#1 PEM (what GitHub gives an App), written to `dir`.
pub fn throwaway_app_key(dir: &std::path::Path) -> std::path::PathBuf {
    let key = dir.join("app.pem");
    let status = std::process::Command::new("openssl")
        .args([
            "genrsa",
            "-traditional",
            "-out",
            key.to_str().unwrap(),
            "2048",
        ])
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl generates a throwaway App key");
    assert!(status.success());
    key
}
