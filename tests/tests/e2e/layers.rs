//! The import rules of the domain and api crates, read from their sources (`tests/src/layers.rs`).
use songnuan_tests::layers::{DOMAIN_LAYERS, check};
use std::path::{Path, PathBuf};

fn crate_src(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name)
        .join("src")
}

#[test]
fn domain_modules_import_only_their_own_layer_or_lower_ones_and_form_no_cycle() {
    let (problems, importing) = check(&crate_src("domain"), Some(DOMAIN_LAYERS));
    assert!(problems.is_empty(), "layering broken:\n{}", problems.join("\n"));
    assert!(
        importing > 20,
        "the import graph looks empty: is the parser still reading `use crate::…`?"
    );
}

#[test]
fn api_modules_form_no_import_cycle() {
    let (problems, importing) = check(&crate_src("api"), None);
    assert!(problems.is_empty(), "api imports:\n{}", problems.join("\n"));
    assert!(importing > 10, "the import graph looks empty");
}

/// The checker itself: a small crate with an upward import, a face import and a cycle.
#[test]
fn the_checker_finds_an_upward_import_a_face_import_and_a_cycle() {
    let dir = std::env::temp_dir().join(format!("songnuan-layers-{}", rand::random::<u64>()));
    let src = dir.join("src");
    let write = |path: &str, text: &str| {
        let p = src.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write("lib.rs", "pub mod core;\npub mod people;\n");
    write("core/mod.rs", "pub mod money;\npub mod codes;\n");
    write("core/money.rs", "pub struct Money;\n");
    // An upward import (core → people), and a test module that may reach anywhere.
    write(
        "core/codes.rs",
        "use crate::people::users::User;\n#[cfg(test)]\nmod tests { use crate::people::users; }\n",
    );
    write("people/mod.rs", "pub mod users;\npub mod access;\n");
    // Through the folder's public face instead of the defining file, and a cycle users ↔ access.
    write(
        "people/users.rs",
        "use crate::core::{money::Money};\nuse super::access::Role;\n",
    );
    write(
        "people/access.rs",
        "use crate::people::users::User;\nuse crate::core::Thing;\n",
    );
    let layers: songnuan_tests::layers::Layers<'_> = &[("core", &["core"]), ("people", &["people"])];
    let (problems, _) = check(&src, Some(layers));
    std::fs::remove_dir_all(&dir).unwrap();
    let all = problems.join("\n");
    assert!(
        all.contains(
            "core/codes.rs: `crate::people::users::User` reaches up from layer 0 (core) to layer 1 (people)"
        ),
        "{all}"
    );
    assert!(
        all.contains("people/access.rs: `crate::core::Thing` goes through the public face"),
        "{all}"
    );
    assert!(
        all.contains("import cycle: people::users → people::access → people::users"),
        "{all}"
    );
    assert_eq!(problems.len(), 3, "nothing else, and not the test module: {all}");
}
