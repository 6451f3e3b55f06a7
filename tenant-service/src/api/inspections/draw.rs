//! The reproducible draw of random inspections: a pure function of a seed, the candidate
//! targets and the candidate inspectors (each in a fixed order), over ChaCha20, a
//! specified stream cipher, so that the same record gives the same draw on any machine
//! and any version of this service, and `GET …/verify` can re-run it.

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use sanxiang_domain::RandomInspection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An unbiased index below `n` from the stream (rejection sampling).
fn below(rng: &mut ChaCha20Rng, n: usize) -> usize {
    let n = n as u64;
    let zone = u64::MAX - (u64::MAX % n);
    loop {
        let x = rng.next_u64();
        if x < zone {
            return (x % n) as usize;
        }
    }
}

/// `k` distinct elements of `pool`, by a partial Fisher–Yates shuffle.
fn sample(rng: &mut ChaCha20Rng, pool: &[Uuid], k: usize) -> Vec<Uuid> {
    let mut p = pool.to_vec();
    let k = k.min(p.len());
    for i in 0..k {
        let j = i + below(rng, p.len() - i);
        p.swap(i, j);
    }
    p.truncate(k);
    p
}

/// One drawn target and its inspectors.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Drawn {
    pub target: Uuid,
    pub inspectors: Vec<Uuid>,
}

/// How many of `pool` targets the ratio (per thousand) draws: rounded up, at least one.
pub fn target_count(pool: usize, ratio_permille: u32) -> usize {
    if pool == 0 {
        return 0;
    }
    (pool * ratio_permille as usize)
        .div_ceil(1000)
        .clamp(1, pool)
}

/// The draw: targets at the item's ratio, then per target its inspectors, all from one
/// ChaCha20 stream seeded by `seed`.
pub fn draw(
    seed: u64,
    targets: &[Uuid],
    inspectors: &[Uuid],
    item: &RandomInspection,
) -> Vec<Drawn> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let picked = sample(
        &mut rng,
        targets,
        target_count(targets.len(), item.ratio_permille),
    );
    picked
        .into_iter()
        .map(|target| Drawn {
            target,
            inspectors: sample(&mut rng, inspectors, item.inspectors_per_target as usize),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(ratio: u32, per: u32) -> RandomInspection {
        RandomInspection {
            code: "SJ-1".into(),
            name: "食品经营抽查".into(),
            matter: "JC-0001".into(),
            inspector: "市场监管局".into(),
            legal_basis: "《食品安全法》".into(),
            targets: "食品经营者".into(),
            content: "许可、台账".into(),
            ratio_permille: ratio,
            inspectors_per_target: per,
            method: "现场检查".into(),
            frequency: "每年一次".into(),
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_draw_and_another_seed_another() {
        let targets: Vec<Uuid> = (1..=50u128).map(Uuid::from_u128).collect();
        let people: Vec<Uuid> = (100..=110u128).map(Uuid::from_u128).collect();
        let a = draw(42, &targets, &people, &item(100, 2));
        assert_eq!(a, draw(42, &targets, &people, &item(100, 2)));
        assert_ne!(a, draw(43, &targets, &people, &item(100, 2)));
        assert_eq!(a.len(), 5);
        for d in &a {
            assert_eq!(d.inspectors.len(), 2);
            assert_ne!(d.inspectors[0], d.inspectors[1]);
        }
        let mut t: Vec<_> = a.iter().map(|d| d.target).collect();
        t.sort();
        t.dedup();
        assert_eq!(t.len(), 5, "targets are distinct");
    }

    #[test]
    fn counts_round_up_and_stay_within_the_pool() {
        assert_eq!(target_count(0, 100), 0);
        assert_eq!(target_count(3, 1), 1);
        assert_eq!(target_count(50, 100), 5);
        assert_eq!(target_count(51, 100), 6);
        assert_eq!(target_count(7, 1000), 7);
    }
}
