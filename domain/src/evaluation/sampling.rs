//! Sampling for the satisfaction surveys (评价抽样: 随机性、代表性、全面性).
//!
//! `sample_size`: Cochran's formula with p = 0.5, n0 = z²·p(1−p)/e², and the finite-population
//! correction n = n0 / (1 + (n0 − 1)/N), rounded up; N is the number of served recipients.
//!
//! `draw_sample`: served recipients only, stratified by category and nominating organisation.
//! The size is split over the categories in proportion to their served recipients (largest
//! remainders), with at least one from every non-empty category when the size allows; each
//! category's share is split over its organisations the same way; each stratum draws its
//! members by a partial Fisher–Yates shuffle of its recipients in id order. The randomness is
//! `SplitMix64` written out here, seeded with the sample's seed, and every order is a sort by
//! id — no hash order, no library generator — so the same data and seed give the same sample
//! on SQLite and PostgreSQL and in every release.
use crate::core::error::{DomainError, DomainResult};
use crate::core::services::Services;
use crate::evaluation::state::{FIELD_STEPS, load, require_open};
use crate::people::access::{Actor, Permission};
use crate::people::audit::{Audited, Change};
use crate::plan::statuses::SERVED_STATES;
use entities::{category, disbursement, recipient, sample, sample_member};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder,
    QuerySelect, RelationDef,
};
use serde_json::json;
use std::collections::BTreeMap;

/// SplitMix64 (Steele, Lea, Flood 2014; the generator `java.util.SplittableRandom` and the
/// seeding of xoshiro use): a 64-bit state advanced by the golden-ratio constant and mixed.
/// Test vector: seed 0 gives 0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F.
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n (n > 0) by Lemire's multiply-shift (bias below 2⁻³² for any n here).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

/// z of the two-sided confidence levels the evaluation uses, exact to the printed digits
/// (Φ⁻¹((1 + c)/2)); other levels are refused rather than approximated.
const Z_SCORES: [(f64, f64); 7] = [
    (0.80, 1.281_551_565_544_600_5),
    (0.85, 1.439_531_470_938_456_3),
    (0.90, 1.644_853_626_951_472_2),
    (0.95, 1.959_963_984_540_054),
    (0.98, 2.326_347_874_040_840_8),
    (0.99, 2.575_829_303_548_900_4),
    (0.999, 3.290_526_731_491_925_5),
];

pub fn z_of(confidence: f64) -> DomainResult<f64> {
    Z_SCORES
        .iter()
        .find(|(c, _)| (c - confidence).abs() < 1e-9)
        .map(|(_, z)| *z)
        .ok_or_else(|| {
            DomainError::validation(
                "confidence",
                "置信水平应为 0.80、0.85、0.90、0.95、0.98、0.99 或 0.999",
            )
        })
}

/// Cochran's sample size for a population of `population`, with finite-population correction.
pub fn cochran(population: u64, confidence: f64, margin: f64) -> DomainResult<u64> {
    let z = z_of(confidence)?;
    if !margin.is_finite() || !(0.001..=0.5).contains(&margin) {
        return Err(DomainError::validation(
            "margin",
            "允许误差应在 0.001 至 0.5 之间（如 0.05 表示 ±5%）",
        ));
    }
    if population == 0 {
        return Ok(0);
    }
    let n0 = z * z * 0.25 / (margin * margin);
    let n = n0 / (1.0 + (n0 - 1.0) / population as f64);
    // A hair below an integer is that integer (float noise), not one more.
    let n = (n - 1e-9).ceil().max(1.0) as u64;
    Ok(n.min(population))
}

/// `sampleSize(campaignId, confidence, margin)` over the campaign's served recipients.
pub async fn sample_size(
    s: &Services,
    actor: &Actor,
    campaign_id: i64,
    confidence: f64,
    margin: f64,
) -> DomainResult<i32> {
    actor.require(Permission::ReadEvaluation)?;
    let state = load(&s.db, actor, campaign_id).await?;
    let n = served_count(&s.db, state.campaign.id).await?;
    Ok(cochran(n, confidence, margin)? as i32)
}

async fn served_count<C: ConnectionTrait>(db: &C, campaign_id: i64) -> DomainResult<u64> {
    // The category counters count served recipients (moved with every payment).
    let cats = category::Entity::find()
        .filter(category::Column::CampaignId.eq(campaign_id))
        .all(db)
        .await?;
    Ok(cats.iter().map(|c| c.served_count.max(0) as u64).sum())
}

/// Splits `n` over `sizes` in proportion (Hamilton's largest remainders; ties to the earlier
/// one); with `min_one` and n at least the number of non-empty sizes, every non-empty size gets
/// at least one (taken from the largest shares). No share exceeds its size.
pub fn allocate(n: u64, sizes: &[u64], min_one: bool) -> Vec<u64> {
    let total: u64 = sizes.iter().sum();
    if total == 0 {
        return vec![0; sizes.len()];
    }
    let n = n.min(total);
    let mut out: Vec<u64> = sizes.iter().map(|s| n * s / total).collect();
    let mut rest: Vec<(u64, usize)> = sizes
        .iter()
        .enumerate()
        .map(|(i, s)| (n * s % total, i))
        .collect();
    // Largest remainder first; equal remainders in stratum order.
    rest.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut left = n - out.iter().sum::<u64>();
    for (_, i) in rest.iter().cycle() {
        if left == 0 {
            break;
        }
        if out[*i] < sizes[*i] {
            out[*i] += 1;
            left -= 1;
        }
    }
    let non_empty = sizes.iter().filter(|s| **s > 0).count() as u64;
    if min_one && n >= non_empty {
        while let Some(i) = (0..sizes.len()).find(|&i| sizes[i] > 0 && out[i] == 0) {
            // Take one from the stratum furthest above its exact quota n·size/total (the first of
            // equals), so the result stays as proportional as the minimum allows.
            let excess = |j: usize| out[j] as i128 * total as i128 - n as i128 * sizes[j] as i128;
            let Some(j) = (0..sizes.len())
                .filter(|&j| out[j] > 1)
                .max_by(|&a, &b| excess(a).cmp(&excess(b)).then(b.cmp(&a)))
            else {
                break;
            };
            out[j] -= 1;
            out[i] += 1;
        }
    }
    out
}

/// A served recipient as the draw sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Member {
    pub recipient_id: i64,
    pub category_id: i64,
    pub nominated_by: i64,
}

/// The draw itself (pure): `size` members of `population` (any order), in draw order, and the
/// number of non-empty strata.
pub fn draw(population: &[Member], size: u64, seed: i64) -> (Vec<i64>, usize) {
    // category → organisation → recipient ids, every level in id order.
    let mut strata: BTreeMap<i64, BTreeMap<i64, Vec<i64>>> = BTreeMap::new();
    for m in population {
        strata
            .entry(m.category_id)
            .or_default()
            .entry(m.nominated_by)
            .or_default()
            .push(m.recipient_id);
    }
    let mut strata_count = 0;
    let cat_sizes: Vec<u64> = strata
        .values()
        .map(|orgs| orgs.values().map(|v| v.len() as u64).sum())
        .collect();
    let per_category = allocate(size, &cat_sizes, true);
    let mut rng = SplitMix64::new(seed as u64);
    let mut out = Vec::with_capacity(size as usize);
    for (orgs, n_cat) in strata.values_mut().zip(per_category) {
        strata_count += orgs.len();
        let org_sizes: Vec<u64> = orgs.values().map(|v| v.len() as u64).collect();
        let per_org = allocate(n_cat, &org_sizes, true);
        for (ids, k) in orgs.values_mut().zip(per_org) {
            ids.sort_unstable();
            // Partial Fisher–Yates: the first k places are a uniform draw without replacement.
            for i in 0..k as usize {
                let j = i + rng.below(ids.len() - i);
                ids.swap(i, j);
                out.push(ids[i]);
            }
        }
    }
    (out, strata_count)
}

impl Audited for sample::Model {
    const TARGET: &'static str = "Sample";
    fn audit_id(&self) -> String {
        self.id.to_string()
    }
    fn snapshot(&self) -> serde_json::Value {
        json!({"campaign_id": self.campaign_id, "seed": self.seed, "size": self.size,
               "population": self.population, "strata": self.strata})
    }
}

fn disbursement_recipient() -> RelationDef {
    disbursement::Entity::belongs_to(recipient::Entity)
        .from(disbursement::Column::RecipientId)
        .to(recipient::Column::Id)
        .into()
}

/// The served recipients of a campaign (one row each, in id order).
async fn served_members<C: ConnectionTrait>(db: &C, campaign_id: i64) -> DomainResult<Vec<Member>> {
    let rows: Vec<(i64, i64, i64)> = disbursement::Entity::find()
        .select_only()
        .column(recipient::Column::Id)
        .column(recipient::Column::CategoryId)
        .column(recipient::Column::NominatedBy)
        .join(JoinType::InnerJoin, disbursement_recipient())
        .filter(disbursement::Column::CampaignId.eq(campaign_id))
        .filter(disbursement::Column::Status.is_in(SERVED_STATES))
        .distinct()
        .order_by_asc(recipient::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(recipient_id, category_id, nominated_by)| Member {
            recipient_id,
            category_id,
            nominated_by,
        })
        .collect())
}

/// A stored sample with its members (ids in draw order).
#[derive(Clone, Debug)]
pub struct SampleRecord {
    pub sample: sample::Model,
    pub recipient_ids: Vec<i64>,
}

/// `drawSample(campaignId, size, seed)` (EVALUATOR) in FIELDWORK..FEEDBACK: draws and stores a
/// sample with its seed. Size 1..N (N served recipients).
pub async fn draw_sample(
    s: &Services,
    actor: &Actor,
    campaign_id: i64,
    size: i32,
    seed: i32,
) -> DomainResult<SampleRecord> {
    actor.require(Permission::Evaluate)?;
    let mut change = Change::begin(&s.db, Some(actor), "drawSample").await?;
    let state = load(change.txn(), actor, campaign_id).await?;
    require_open(&state, &FIELD_STEPS, "抽取样本")?;
    let population = served_members(change.txn(), campaign_id).await?;
    if population.is_empty() {
        return Err(DomainError::validation(
            "size",
            "还没有已发放的慰问对象，无法抽样",
        ));
    }
    if size < 1 || size as usize > population.len() {
        return Err(DomainError::validation(
            "size",
            format!("样本量应在 1 至 {} 之间（已发放对象数）", population.len()),
        ));
    }
    let (ids, strata) = draw(&population, size as u64, i64::from(seed));
    let created = change
        .insert_audited(sample::ActiveModel {
            campaign_id: Set(campaign_id),
            seed: Set(i64::from(seed)),
            size: Set(size),
            population: Set(population.len() as i32),
            strata: Set(strata as i32),
            created_by: Set(actor.user_id),
            created_at: Set(change.now()),
            ..Default::default()
        })
        .await?;
    for chunk in ids.chunks(500).enumerate() {
        let (c, part) = chunk;
        sample_member::Entity::insert_many(part.iter().enumerate().map(|(i, rid)| {
            sample_member::ActiveModel {
                sample_id: Set(created.id),
                recipient_id: Set(*rid),
                position: Set((c * 500 + i) as i32),
            }
        }))
        .exec_without_returning(change.txn())
        .await?;
    }
    change.commit().await?;
    Ok(SampleRecord {
        sample: created,
        recipient_ids: ids,
    })
}

/// The members of a sample in draw order.
pub async fn members_of<C: ConnectionTrait>(db: &C, sample_id: i64) -> DomainResult<Vec<i64>> {
    Ok(sample_member::Entity::find()
        .filter(sample_member::Column::SampleId.eq(sample_id))
        .order_by_asc(sample_member::Column::Position)
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.recipient_id)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_test_vector() {
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(r.next_u64(), 0x06C4_5D18_8009_454F);
        let mut r = SplitMix64::new(1234567);
        assert_eq!(r.next_u64(), 6457827717110365317);
        assert_eq!(r.next_u64(), 3203168211198807973);
    }

    #[test]
    fn cochran_with_finite_population_correction() {
        // 95 % / ±5 % on the 252 served recipients of 2025: n0 = 384.15, n = 152.4 → 153.
        assert_eq!(cochran(252, 0.95, 0.05).unwrap(), 153);
        // A large population tends to n0 (385 at 95 % / ±5 %).
        assert_eq!(cochran(10_000_000, 0.95, 0.05).unwrap(), 385);
        // 90 % / ±10 %: n0 = 67.65; on 252 → 53.4 → 54.
        assert_eq!(cochran(252, 0.90, 0.10).unwrap(), 54);
        // 99 % / ±5 % on 1000: n0 = 663.49 → 399.09 → 400.
        assert_eq!(cochran(1000, 0.99, 0.05).unwrap(), 400);
        assert_eq!(cochran(0, 0.95, 0.05).unwrap(), 0);
        assert_eq!(cochran(3, 0.95, 0.05).unwrap(), 3);
        assert_eq!(cochran(252, 0.93, 0.05).unwrap_err().field(), Some("confidence"));
        assert_eq!(cochran(252, 0.95, 0.0).unwrap_err().field(), Some("margin"));
        assert_eq!(cochran(252, 0.95, f64::NAN).unwrap_err().field(), Some("margin"));
    }

    #[test]
    fn allocation_is_proportional_with_one_per_stratum() {
        // The 2025 categories (8, 58, 10, 2, 4, 86, 84 = 252), 30 drawn.
        let sizes = [8, 58, 10, 2, 4, 86, 84];
        let a = allocate(30, &sizes, true);
        assert_eq!(a.iter().sum::<u64>(), 30);
        assert!(a.iter().all(|n| *n >= 1), "{a:?}");
        // INJURED and MODEL_WORKER get their one from HARDSHIP, the furthest above its quota (6.9).
        assert_eq!(a, vec![1, 6, 1, 1, 1, 10, 10]);
        // Without the minimum the small categories get nothing.
        assert_eq!(allocate(30, &sizes, false), vec![1, 7, 1, 0, 1, 10, 10]);
        // Fewer than the strata: no minimum possible; never more than a stratum holds.
        assert_eq!(allocate(2, &sizes, true).iter().sum::<u64>(), 2);
        assert_eq!(allocate(500, &[1, 2], true), vec![1, 2]);
        assert_eq!(allocate(3, &[0, 0], true), vec![0, 0]);
    }

    fn population() -> Vec<Member> {
        // 3 categories × 2 organisations, ids interleaved.
        (1..=60)
            .map(|i| Member {
                recipient_id: i,
                category_id: i % 3,
                nominated_by: 100 + i % 2,
            })
            .collect()
    }

    #[test]
    fn same_seed_same_sample_whatever_the_input_order() {
        let p = population();
        let mut reversed = p.clone();
        reversed.reverse();
        let (a, strata) = draw(&p, 12, 2025);
        let (b, _) = draw(&reversed, 12, 2025);
        assert_eq!(a, b);
        assert_eq!(strata, 6);
        assert_eq!(a.len(), 12);
        let mut unique = a.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 12);
        assert_ne!(draw(&p, 12, 2026).0, a, "another seed, another sample");
        // Every stratum of 10 gets 2 of the 12.
        for cat in 0..3 {
            for org in 100..102 {
                let n = a
                    .iter()
                    .filter(|id| **id % 3 == cat && 100 + **id % 2 == org)
                    .count();
                assert_eq!(n, 2, "category {cat}, organisation {org}");
            }
        }
    }
}
