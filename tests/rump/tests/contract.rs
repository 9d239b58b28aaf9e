//! `cargo test` entry of the C contract suite: fails when any named check fails.
//!
//! The check lines go to the process's standard output (run with `--nocapture` to see them
//! next to the test harness output; they are printed either way since the suite writes to
//! file descriptor 1 directly).

#[test]
fn rumpuser_contract_suite() {
    let failed = rump_tests::run_contract();
    assert_eq!(
        failed, 0,
        "{failed} contract check(s) failed; see the FAIL lines above"
    );
}
