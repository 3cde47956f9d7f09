//! Fills a PostgreSQL (or SQLite) database with a province-sized data set: 16 prefectures,
//! 129 counties with towns, system unions and grassroots unions, three years of campaigns per
//! county with the seven categories, and about a million recipients (valid ID numbers, people
//! recurring across years so `history` has something to show).
//!
//!   DATABASE_URL=postgres://postgres@127.0.0.1:5432/songnuan_bench SONGNUAN_SECRET=… \
//!     cargo run --release -p songnuan-bench --bin gen_province -- --recipients 1000000
//!
//! Use the same SONGNUAN_SECRET for the server afterwards: the personal data is encrypted with it.
use anyhow::Context;
use chrono::{NaiveDate, Utc};
use clap::Parser;
use domain::recipients::{self, RecipientFields};
use entities::{campaign, category, organization, recipient};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use std::sync::Arc;
use std::time::Instant;

#[derive(Parser)]
struct Args {
    /// Total recipients to create (spread over all campaigns).
    #[arg(long, default_value_t = 1_000_000)]
    recipients: u32,
    #[arg(long, default_value_t = 16)]
    prefectures: u32,
    #[arg(long, default_value_t = 129)]
    counties: u32,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Also make one campaign in REVIEW with this many paid disbursements (progress benchmark).
    #[arg(long, default_value_t = 100_000)]
    disbursed: u32,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    let settings = domain::Settings::from_env().map_err(|e| anyhow::anyhow!("{e}"))?;
    let db = domain::db::connect(&settings).await?;
    domain::db::migrate(&db).await?;
    domain::bootstrap::run(&db, &settings)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let services = domain::Services::new(db.clone(), Arc::new(settings));
    let mut rng = StdRng::seed_from_u64(args.seed);
    let now = Utc::now();
    let demo = domain::demo::parse(domain::demo::FUMIN_2025).map_err(|e| anyhow::anyhow!("{e}"))?;

    let root = domain::organizations::find_root(&db)
        .await?
        .context("no root organisation")?;
    let org = |name: String, kind: &str, parent: &organization::Model| organization::ActiveModel {
        name: Set(name),
        kind: Set(kind.into()),
        parent_id: Set(Some(parent.id)),
        path: Set(String::new()),
        created_at: Set(now),
        ..Default::default()
    };
    async fn insert_org(
        db: &sea_orm::DatabaseConnection,
        am: organization::ActiveModel,
        parent: &organization::Model,
    ) -> anyhow::Result<organization::Model> {
        let o = am.insert(db).await?;
        let path = format!("{}{}/", parent.path, o.id);
        let mut am: organization::ActiveModel = o.into();
        am.path = Set(path);
        Ok(am.update(db).await?)
    }

    // counties: (county federation, its grassroots unions)
    let mut counties: Vec<(organization::Model, Vec<i64>)> = Vec::new();
    for p in 0..args.prefectures {
        let pref = insert_org(
            &db,
            org(format!("第{}州市总工会", p + 1), "FEDERATION", &root),
            &root,
        )
        .await?;
        let n = args.counties / args.prefectures + u32::from(p < args.counties % args.prefectures);
        for c in 0..n {
            let county = insert_org(
                &db,
                org(format!("{}第{}县总工会", pref.name, c + 1), "FEDERATION", &pref),
                &pref,
            )
            .await?;
            let mut grassroots = Vec::new();
            for t in 0..6 {
                let kind = if t < 4 { "TOWN_FEDERATION" } else { "SYSTEM_UNION" };
                let town = insert_org(
                    &db,
                    org(format!("{}第{}工会联合会", county.name, t + 1), kind, &county),
                    &county,
                )
                .await?;
                for g in 0..4 {
                    let gr = insert_org(
                        &db,
                        org(format!("{}第{}基层工会", town.name, g + 1), "GRASSROOTS", &town),
                        &town,
                    )
                    .await?;
                    grassroots.push(gr.id);
                }
            }
            counties.push((county, grassroots));
        }
    }
    println!(
        "organisations: {} counties in {:.1?}",
        counties.len(),
        started.elapsed()
    );

    let years = [2023, 2024, 2025];
    let per_campaign = args.recipients / (counties.len() as u32 * years.len() as u32);
    let mut created = 0u64;
    let backend_batch = if services.settings.is_sqlite() { 1000 } else { 2000 };
    for (ci, (county, grassroots)) in counties.iter().enumerate() {
        // A county's pool of people: most recur across the three years.
        let pool_size = (per_campaign as f64 * 1.4) as u32 + 1;
        let region = 530100 + (ci as u32 % 99) * 100 + 1;
        // Distinct ID numbers (one person once per campaign: 不漏不重).
        let mut seen = std::collections::HashSet::new();
        let mut pool: Vec<(String, String, String, String)> = Vec::with_capacity(pool_size as usize);
        let mut i = 0u32;
        while pool.len() < pool_size as usize {
            let id = songnuan_bench::id_number(&mut rng, region, i);
            i += 1;
            if !seen.insert(id.clone()) {
                continue;
            }
            pool.push((
                bench_name(&mut rng),
                id,
                songnuan_bench::phone(&mut rng),
                songnuan_bench::bank_account(&mut rng),
            ));
        }
        for (yi, year) in years.iter().enumerate() {
            let c = campaign::ActiveModel {
                name: Set(format!("{}{}年元旦春节送温暖活动", county.name, year)),
                year: Set(*year),
                // Generous budgets: the disburse benchmark must meet the guard, not exhaust it.
                budget_fen: Set(per_campaign as i64 * 50_000 + 100_000_000),
                stage: Set(if yi < 2 { "CLOSED" } else { "SCREENING" }.into()),
                starts_on: Set(NaiveDate::from_ymd_opt(*year, 1, 10).unwrap()),
                deadline: Set(NaiveDate::from_ymd_opt(*year, 1, 28).unwrap()),
                policy_refs: Set("[]".into()),
                organization_id: Set(county.id),
                entry_deadline_days: Set(30),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(&db)
            .await?;
            let mut cats = Vec::new();
            for k in &demo.campaign.categories {
                let m = category::ActiveModel {
                    campaign_id: Set(c.id),
                    code: Set(k.code.clone()),
                    name: Set(k.name.clone()),
                    recipient_kind: Set(k.recipient_kind.clone()),
                    planned_count: Set(k.planned_count),
                    standard_fen: Set(domain::Money::parse("standard", &k.standard_amount)
                        .map_err(|e| anyhow::anyhow!("{e}"))?
                        .fen()),
                    ..Default::default()
                }
                .insert(&db)
                .await?;
                cats.push(m);
            }
            let persons: Vec<&category::Model> =
                cats.iter().filter(|k| k.recipient_kind == "PERSON").collect();
            let mut picks: Vec<usize> = (0..pool.len()).collect();
            picks.shuffle(&mut rng);
            let mut batch: Vec<recipient::ActiveModel> = Vec::with_capacity(backend_batch);
            for &p in picks.iter().take(per_campaign as usize) {
                let (name, id, phone, bank) = &pool[p];
                let cat = persons[rng.gen_range(0..persons.len())];
                let fields = RecipientFields {
                    kind: None,
                    name: name.clone(),
                    id_number: Some(id.clone()),
                    phone: Some(phone.clone()),
                    bank_name: Some(
                        songnuan_bench::BANKS[rng.gen_range(0..songnuan_bench::BANKS.len())].into(),
                    ),
                    bank_account: Some(bank.clone()),
                };
                let org = grassroots[rng.gen_range(0..grassroots.len())];
                let mut row = recipients::build_row(&services.cipher, &c, cat, &fields, org, 1, now)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                if rng.gen_bool(0.9) {
                    row.status = Set("VERIFIED".into());
                    row.verification_method = Set(Some("HOME_VISIT".into()));
                    row.vetted_at = Set(Some(now));
                }
                batch.push(row);
                if batch.len() == backend_batch {
                    created += batch.len() as u64;
                    recipient::Entity::insert_many(std::mem::take(&mut batch))
                        .exec_without_returning(&db)
                        .await?;
                }
            }
            if !batch.is_empty() {
                created += batch.len() as u64;
                recipient::Entity::insert_many(batch)
                    .exec_without_returning(&db)
                    .await?;
            }
            // Rows were written in bulk, not through the transitions that keep the counters.
            domain::campaigns::counters::recount(&db, c.id)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        if ci % 10 == 9 {
            println!(
                "  {} / {} counties, {created} recipients, {:.0?}",
                ci + 1,
                counties.len(),
                started.elapsed()
            );
        }
    }
    println!(
        "done: {created} recipients in {} campaigns, {:.1?}",
        counties.len() * years.len(),
        started.elapsed()
    );
    if args.disbursed > 0 {
        disbursed_campaign(&services, &counties[0], args.disbursed, &demo, &mut rng).await?;
        println!(
            "disbursed campaign: {} paid disbursements, {:.1?}",
            args.disbursed,
            started.elapsed()
        );
    }
    Ok(())
}

/// One campaign whose recipients were all paid (a mix of PAID and CONFIRMED, entered or not,
/// deadlines past), for the `progress` benchmark.
async fn disbursed_campaign(
    services: &domain::Services,
    county: &(organization::Model, Vec<i64>),
    n: u32,
    demo: &domain::demo::DemoData,
    rng: &mut StdRng,
) -> anyhow::Result<()> {
    use entities::disbursement;
    let db = &services.db;
    let now = Utc::now();
    let c = campaign::ActiveModel {
        name: Set(format!("{}大规模发放基准项目", county.0.name)),
        year: Set(2026),
        budget_fen: Set(n as i64 * 50_000),
        stage: Set("REVIEW".into()),
        starts_on: Set(NaiveDate::from_ymd_opt(2026, 1, 5).unwrap()),
        deadline: Set(NaiveDate::from_ymd_opt(2026, 2, 15).unwrap()),
        policy_refs: Set("[]".into()),
        organization_id: Set(county.0.id),
        entry_deadline_days: Set(30),
        created_at: Set(now),
        committed_fen: Set(n as i64 * 30_000),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let k = &demo.campaign.categories[5];
    let cat = category::ActiveModel {
        campaign_id: Set(c.id),
        code: Set(k.code.clone()),
        name: Set(k.name.clone()),
        recipient_kind: Set("PERSON".into()),
        planned_count: Set(n as i32),
        standard_fen: Set(30_000),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let batch = if services.settings.is_sqlite() { 1000 } else { 2000 };
    let paid_on = NaiveDate::from_ymd_opt(2026, 1, 20).unwrap();
    let mut done = 0u32;
    while done < n {
        let size = (n - done).min(batch as u32);
        let mut rows = Vec::with_capacity(size as usize);
        for i in done..done + size {
            let fields = RecipientFields {
                kind: None,
                name: songnuan_bench::name(rng),
                // (region, sequence) is unique per row: no duplicate ID numbers.
                id_number: Some(songnuan_bench::id_number(
                    rng,
                    110000 + (i / 1000) * 100 + 1,
                    i % 1000,
                )),
                phone: None,
                bank_name: None,
                bank_account: Some(songnuan_bench::bank_account(rng)),
            };
            let mut row = recipients::build_row(&services.cipher, &c, &cat, &fields, county.1[0], 1, now)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            row.status = Set("VERIFIED".into());
            rows.push(row);
        }
        recipient::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
        done += size;
    }
    // Pay every recipient of the campaign in one statement per batch of ids.
    let ids: Vec<i64> = recipient::Entity::find()
        .select_only()
        .column(recipient::Column::Id)
        .filter(recipient::Column::CampaignId.eq(c.id))
        .into_tuple()
        .all(db)
        .await?;
    for chunk in ids.chunks(batch) {
        let mut ds = Vec::with_capacity(chunk.len());
        for &rid in chunk {
            let confirmed = rng.gen_bool(0.7);
            let entered = rng.gen_bool(0.8);
            ds.push(disbursement::ActiveModel {
                campaign_id: Set(c.id),
                recipient_id: Set(rid),
                category_id: Set(cat.id),
                kind: Set("CASH".into()),
                amount_fen: Set(30_000),
                status: Set(if confirmed { "CONFIRMED" } else { "PAID" }.into()),
                items: Set(None),
                contract_line_id: Set(None),
                bank_reference: Set(Some(format!("BENCH{rid}"))),
                paid_on: Set(Some(paid_on)),
                confirmed_on: Set(confirmed.then_some(paid_on)),
                notified_at: Set(None),
                entry_deadline: Set(Some(NaiveDate::from_ymd_opt(2026, 3, 6).unwrap())),
                entry_deadline_provisional: Set(false),
                entered_at: Set(entered.then_some(now)),
                provincial_ref: Set(entered.then(|| "BENCH".to_string())),
                idempotency_key: Set(format!("bench-{rid}")),
                request_hash: Set(String::new()),
                cancel_reason: Set(None),
                active_recipient: Set(Some(rid)),
                recipient_verified_at_plan: Set(true),
                planned_by: Set(1),
                approved_by: Set(Some(1)),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            });
        }
        disbursement::Entity::insert_many(ds)
            .exec_without_returning(db)
            .await?;
    }
    domain::campaigns::counters::recount(db, c.id)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("disbursed campaign id {}", c.id);
    Ok(())
}

fn bench_name(rng: &mut StdRng) -> String {
    songnuan_bench::name(rng)
}
