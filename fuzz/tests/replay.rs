//! Replays every committed seed of every fuzz target through its harness on the stable
//! toolchain, and checks that targets and corpus directories match one to one.

use std::fs;
use std::path::Path;

use offload_fuzz::TARGETS;

#[test]
fn every_seed_of_every_target() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut dirs: Vec<String> = fs::read_dir(&corpus)
        .unwrap_or_else(|e| panic!("{}: {e}", corpus.display()))
        .map(|entry| entry.expect("corpus entry"))
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    for dir in &dirs {
        assert!(
            TARGETS.iter().any(|(name, _)| name == dir),
            "corpus/{dir} has no fuzz target"
        );
    }
    for (name, harness) in TARGETS {
        let dir = corpus.join(name);
        assert!(dir.is_dir(), "fuzz target {name} has no corpus/{name}");
        let mut seeds: Vec<_> = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("seed entry").path())
            .filter(|path| path.is_file())
            .collect();
        seeds.sort();
        assert!(!seeds.is_empty(), "corpus/{name} is empty");
        for seed in &seeds {
            let bytes = fs::read(seed).unwrap_or_else(|e| panic!("{}: {e}", seed.display()));
            println!("{name}: {} ({} bytes)", seed.display(), bytes.len());
            harness(&bytes);
        }
        println!("{name}: replayed {} seeds", seeds.len());
    }
}
