//! First start: on an empty database, create the county federation and the `admin` user.
//! Runs inside a `Change`, whose chain lock makes two replicas starting together safe: the
//! second sees the first one's admin and does nothing.
use crate::core::error::DomainResult;
use crate::core::settings::Settings;
use crate::people::access::Role;
use crate::people::audit::{self, Change};
use crate::people::organizations::{self, OrgKind};
use crate::people::users::{self, NewUser};
use entities::user;
use rand::Rng;
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};

pub enum Bootstrap {
    AlreadyDone,
    /// Admin created with the configured password.
    Created,
    /// Admin created with a random password, to be shown once.
    CreatedWithPassword(String),
}

pub async fn run(db: &DatabaseConnection, settings: &Settings) -> DomainResult<Bootstrap> {
    audit::ensure_head(db).await?;
    crate::plan::calendar_store::seed_official(db).await?;
    if user::Entity::find().count(db).await? > 0 {
        return Ok(Bootstrap::AlreadyDone);
    }
    let mut change = Change::begin(db, None, "bootstrap").await?;
    if user::Entity::find().count(change.txn()).await? > 0 {
        return Ok(Bootstrap::AlreadyDone);
    }
    let (password, generated) = match &settings.admin_password {
        Some(p) => (p.clone(), false),
        None => (random_password(), true),
    };
    let root = match organizations::find_root(change.txn()).await? {
        Some(r) => r,
        None => {
            organizations::insert(&mut change, &settings.federation_name, OrgKind::Federation, None).await?
        }
    };
    users::insert(
        &mut change,
        &NewUser {
            username: "admin",
            password: &password,
            display_name: "系统管理员",
            roles: &[Role::Admin],
            organization_id: root.id,
        },
    )
    .await?;
    change.commit().await?;
    Ok(if generated {
        Bootstrap::CreatedWithPassword(password)
    } else {
        Bootstrap::Created
    })
}

fn random_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}
