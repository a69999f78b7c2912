use std::time::{Duration, Instant};

use super::*;

fn settings(rotate_bytes: u64, keep: usize, buffer_bytes: usize) -> AuditSettings {
    AuditSettings {
        rotate_bytes,
        keep,
        buffer_bytes,
        ..AuditSettings::default()
    }
}

fn line(n: usize) -> Vec<u8> {
    format!("{{\"n\":{n}}}").into_bytes()
}

/// The `n` of each line in `path`.
fn numbers(path: &Path) -> Vec<u64> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["n"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

/// Waits up to 5 s for `log` to be healthy (or not, as `healthy` says).
fn wait_for(log: &AuditLog, healthy: bool) -> Result<(), Unwritable> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let health = log.health();
        if health.is_ok() == healthy || Instant::now() > deadline {
            return health;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A log at `dir/audit.jsonl` that cannot be written: the path is a link to `/dev/full`.
fn on_a_full_disk(dir: &Path, buffer_bytes: usize) -> (PathBuf, AuditLog) {
    let path = dir.join("audit.jsonl");
    std::os::unix::fs::symlink("/dev/full", &path).unwrap();
    let log = AuditLog::open(&path, &settings(1 << 20, 2, buffer_bytes)).unwrap();
    (path, log)
}

#[test]
fn lines_are_appended_flushed_on_close_and_rotated_by_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit").join("audit.jsonl");
    let log = AuditLog::open(&path, &settings(100, 2, 1 << 20)).unwrap();
    for i in 0..10 {
        let line = format!(r#"{{"n":{i},"pad":"{}"}}"#, "x".repeat(20));
        log.write(line.as_bytes(), Priority::Admitted);
    }
    log.close();
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    let numbered = |n: u8| PathBuf::from(format!("{}.{n}", path.display()));
    let (current, one, two) = (read(&path), read(&numbered(1)), read(&numbered(2)));
    assert!(!numbered(3).exists(), "only `keep` old files are kept");
    for text in [&current, &one, &two] {
        assert!(
            !text.is_empty() && text.len() < 100,
            "each file stays under the limit: {text:?}"
        );
    }
    let last: Vec<u64> = [numbered(2), numbered(1), path.clone()]
        .iter()
        .flat_map(|p| numbers(p))
        .collect();
    assert_eq!(last.last(), Some(&9), "the newest record is in the current file");
    assert!(
        last.windows(2).all(|w| w[1] == w[0] + 1),
        "in order, none lost within kept files"
    );
}

#[test]
fn a_failed_rotation_writes_on_instead_of_spinning() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path, &settings(10, 2, 1 << 20)).unwrap();
    // Moved away, as an outside logrotate might: renaming it fails.
    std::fs::remove_file(&path).unwrap();
    for n in 0..3 {
        log.write(&line(n), Priority::Admitted);
    }
    log.close();
    let text = [path.clone(), PathBuf::from(format!("{}.1", path.display()))]
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .collect::<String>();
    // The first line went into the removed file; the rest are on disk.
    assert!(text.contains(r#"{"n":1}"#) && text.contains(r#"{"n":2}"#), "{text}");
}

#[test]
fn reopening_appends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    for n in 0..2 {
        let log = AuditLog::open(&path, &settings(1 << 20, 2, 1 << 20)).unwrap();
        log.write(&line(n), Priority::Admitted);
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"n\":0}\n{\"n\":1}\n");
}

#[test]
fn while_the_log_cannot_be_written_the_buffer_stays_bounded_and_drops_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let (_, log) = on_a_full_disk(dir.path(), 1000);
    log.write(&line(0), Priority::Admitted);
    let health = wait_for(&log, false);
    assert!(
        matches!(&health, Err(Unwritable::Failing(why)) if why.contains("No space left on device")),
        "{health:?}"
    );
    // Each line is 9 or 10 bytes with its newline: 1000 bytes hold 100 or so.
    for n in 1..300 {
        log.write(&line(n), Priority::Admitted);
    }
    let status = log.status();
    assert!(status.buffered_bytes <= 1000, "{status:?}");
    assert!(status.buffered_records >= 90, "{status:?}");
    assert_eq!(status.buffered_records as u64 + status.dropped, 300, "{status:?}");
    assert!(!status.writable);
    // Refusals' records fill three quarters of the buffer, at most.
    let dir = tempfile::tempdir().unwrap();
    let (_, refusals) = on_a_full_disk(dir.path(), 1000);
    for n in 0..300 {
        refusals.write(&line(n), Priority::Refused);
    }
    let status = refusals.status();
    assert!(status.buffered_bytes <= 750, "{status:?}");
    assert_eq!(status.buffered_records as u64 + status.dropped, 300, "{status:?}");
    // What is buffered when clawgate stops is lost, and counted.
    log.close();
    assert_eq!(log.status().dropped, 300);
}

#[test]
fn kept_records_are_written_in_order_once_the_log_can_be_written_again() {
    let dir = tempfile::tempdir().unwrap();
    let (path, log) = on_a_full_disk(dir.path(), 1 << 20);
    for n in 0..5 {
        log.write(&line(n), Priority::Admitted);
    }
    assert!(wait_for(&log, false).is_err());
    for n in 5..10 {
        log.write(&line(n), Priority::Refused);
    }
    assert_eq!(log.status().buffered_records, 10);
    // Space returns: the writer reopens the path and finds a file it can write.
    std::fs::remove_file(&path).unwrap();
    assert_eq!(wait_for(&log, true), Ok(()));
    log.write(&line(10), Priority::Admitted);
    log.close();
    assert_eq!(numbers(&path), (0..=10).collect::<Vec<u64>>());
    assert_eq!(
        log.status(),
        Status {
            buffered_records: 0,
            buffered_bytes: 0,
            dropped: 0,
            writable: true
        }
    );
}
