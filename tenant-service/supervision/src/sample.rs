//! The reproducible random sample of case-file review (案卷评查).
//!
//! Algorithm (documented so that anyone can recompute a draw by hand): every candidate
//! decision of an agency gets the key `SHA-256("<seed>:<decision id>")` (the seed in
//! decimal, the id as lower-case hyphenated UUID); the `n` candidates with the smallest
//! keys (compared as bytes) are the sample, in that order. The draw depends only on the
//! seed and the set of candidates — not on their order, not on the other agencies, not
//! on when it is run — so the same seed over the same cases gives the same sample, and a
//! supervisor cannot pick cases: the seed is fixed when the campaign is created (given by
//! the supervisor, e.g. drawn in public, or random) and stored with it.

use sha2::{Digest, Sha256};

/// The key of one candidate.
pub fn key(seed: i64, id: &str) -> [u8; 32] {
    Sha256::digest(format!("{seed}:{id}").as_bytes()).into()
}

/// The sample of at most `n` ids out of `candidates`, in draw order.
pub fn draw<'a>(seed: i64, candidates: &[&'a str], n: usize) -> Vec<&'a str> {
    let mut keyed: Vec<([u8; 32], &'a str)> =
        candidates.iter().map(|id| (key(seed, id), *id)).collect();
    keyed.sort();
    keyed.dedup_by(|a, b| a.1 == b.1);
    keyed.into_iter().take(n).map(|(_, id)| id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("00000000-0000-4000-8000-{i:012}"))
            .collect()
    }

    #[test]
    fn same_seed_same_sample_whatever_the_order() {
        let ids = ids(50);
        let forward: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut backward = forward.clone();
        backward.reverse();
        let a = draw(20260301, &forward, 5);
        assert_eq!(a.len(), 5);
        assert_eq!(a, draw(20260301, &backward, 5));
        assert_ne!(
            a,
            draw(20260302, &forward, 5),
            "another seed, another sample"
        );
        // A larger sample extends the smaller one.
        assert_eq!(&draw(20260301, &forward, 8)[..5], &a[..]);
        // Fewer candidates than asked: all of them.
        assert_eq!(draw(1, &forward[..3], 10).len(), 3);
    }

    #[test]
    fn the_key_is_the_documented_hash() {
        // sha256("7:abc"), computed independently (coreutils sha256sum).
        let k = key(7, "abc");
        let hex: String = k.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "d9d02ef46913e78745d85b7ee05d3e0e27006b67a080a426be4414c506b82aab"
        );
        assert_ne!(k, key(8, "abc"));
    }

    #[test]
    fn every_candidate_is_drawn_about_equally_often() {
        let ids = ids(10);
        let c: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut hits = [0u32; 10];
        for seed in 0..2000 {
            for id in draw(seed, &c, 1) {
                hits[c.iter().position(|x| *x == id).unwrap()] += 1;
            }
        }
        // Expected 200 each; a fair draw stays well within 130..270.
        assert!(hits.iter().all(|h| (130..270).contains(h)), "{hits:?}");
    }
}
