//! The sample configuration shipped with the examples is valid as it is.

use std::path::PathBuf;

#[test]
fn the_examples_sample_configuration_is_valid() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/tokengate.toml");
    let config = tokengate_config::Config::from_file_only(&path)
        .unwrap_or_else(|problems| panic!("{problems}"));
    let verifier = config
        .verifier()
        .unwrap_or_else(|problems| panic!("{problems}"));
    assert_eq!(
        verifier.issuers().collect::<Vec<_>>(),
        ["https://id.example.com/"]
    );
    assert!(
        verifier.cache_stats().is_some(),
        "the sample turns the cache on"
    );
    let (path, _) = verifier
        .resource_metadata()
        .expect("the sample names a resource");
    assert_eq!(path, "/.well-known/oauth-protected-resource/orders");
}
