//! Every DataLoader of the API, registered in one place (`attach`). Loaders are made per
//! request with the caller's scope, so batching never leaks rows across callers.
use async_graphql::dataloader::{DataLoader, Loader};
use domain::{DomainError, Scope, Services};
use entities::{campaign, category, disbursement, organization, recipient, user};
use std::collections::HashMap;
use std::sync::Arc;

pub type LoadError = Arc<DomainError>;

pub struct OrgLoader {
    services: Services,
    scope: Scope,
}

impl Loader<i64> for OrgLoader {
    type Value = organization::Model;
    type Error = LoadError;
    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        domain::organizations::load_many(&self.services.db, &self.scope, keys)
            .await
            .map_err(Arc::new)
    }
}

/// Children of an organisation, keyed by parent id.
pub struct OrgChildrenLoader {
    services: Services,
    scope: Scope,
}

impl Loader<i64> for OrgChildrenLoader {
    type Value = Vec<organization::Model>;
    type Error = LoadError;
    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        domain::organizations::children_of(&self.services.db, &self.scope, keys)
            .await
            .map_err(Arc::new)
    }
}

pub struct UserLoader {
    services: Services,
    scope: Scope,
}

impl Loader<i64> for UserLoader {
    type Value = user::Model;
    type Error = LoadError;
    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        domain::users::load_many(&self.services.db, &self.scope, keys)
            .await
            .map_err(Arc::new)
    }
}

/// Categories of a campaign, keyed by campaign id (visibility was checked on the campaign).
pub struct CategoriesLoader {
    services: Services,
}

impl Loader<i64> for CategoriesLoader {
    type Value = Vec<category::Model>;
    type Error = LoadError;
    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        domain::campaigns::categories_of(&self.services.db, keys)
            .await
            .map_err(Arc::new)
    }
}

/// Generates a loader struct holding the services (and the caller's scope where rows are
/// filtered by it), keyed by i64, delegating to one domain batch function.
macro_rules! loader {
    ($name:ident, $value:ty, |$s:ident, $keys:ident| $body:expr) => {
        pub struct $name {
            services: Services,
        }
        impl Loader<i64> for $name {
            type Value = $value;
            type Error = LoadError;
            async fn load(&self, $keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
                let $s = &self.services;
                $body.await.map_err(Arc::new)
            }
        }
    };
}

loader!(CampaignLoader, campaign::Model, |s, keys| {
    domain::campaigns::load_many(&s.db, keys)
});
loader!(CategoryLoader, category::Model, |s, keys| {
    domain::campaigns::categories_by_id(&s.db, keys)
});
loader!(DisbursementsOfRecipient, Vec<disbursement::Model>, |s, keys| {
    domain::funds::of_recipients(s, keys)
});
loader!(VerifiedCountLoader, i32, |s, keys| {
    domain::recipients::verified_counts(s, keys)
});
loader!(ServedCountLoader, i32, |s, keys| domain::funds::served_counts(
    s, keys
));

/// Recipients by id, filtered by the caller's scope.
pub struct RecipientLoader {
    services: Services,
    scope: Scope,
}

impl Loader<i64> for RecipientLoader {
    type Value = recipient::Model;
    type Error = LoadError;
    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        domain::recipients::load_many(&self.services, &self.scope, keys)
            .await
            .map_err(Arc::new)
    }
}

/// 冒领 warning flags of recipients (by recipient id).
pub struct FlagsLoader {
    services: Services,
}

impl Loader<i64> for FlagsLoader {
    type Value = Vec<&'static str>;
    type Error = LoadError;
    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let s = &self.services;
        let rows = domain::recipients::load_many(s, &Scope::All, keys)
            .await
            .map_err(Arc::new)?;
        let rows: Vec<recipient::Model> = rows.into_values().collect();
        domain::recipients::flags_of(s, &rows).await.map_err(Arc::new)
    }
}

/// Earlier campaigns of the same person (by recipient id).
pub struct HistoryLoader {
    services: Services,
}

impl Loader<i64> for HistoryLoader {
    type Value = Vec<domain::recipients::HistoryEntry>;
    type Error = LoadError;
    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let s = &self.services;
        let rows = domain::recipients::load_many(s, &Scope::All, keys)
            .await
            .map_err(Arc::new)?;
        let rows: Vec<recipient::Model> = rows.into_values().collect();
        domain::recipients::history_of(s, &rows).await.map_err(Arc::new)
    }
}

pub fn attach(mut req: async_graphql::Request, services: &Services, scope: &Scope) -> async_graphql::Request {
    let spawn = tokio::spawn;
    req = req
        .data(DataLoader::new(
            OrgLoader {
                services: services.clone(),
                scope: scope.clone(),
            },
            spawn,
        ))
        .data(DataLoader::new(
            OrgChildrenLoader {
                services: services.clone(),
                scope: scope.clone(),
            },
            spawn,
        ))
        .data(DataLoader::new(
            UserLoader {
                services: services.clone(),
                scope: scope.clone(),
            },
            spawn,
        ))
        .data(DataLoader::new(
            CategoriesLoader {
                services: services.clone(),
            },
            spawn,
        ))
        .data(DataLoader::new(
            RecipientLoader {
                services: services.clone(),
                scope: scope.clone(),
            },
            spawn,
        ));
    let s = || services.clone();
    req = req
        .data(DataLoader::new(CampaignLoader { services: s() }, spawn))
        .data(DataLoader::new(CategoryLoader { services: s() }, spawn))
        .data(DataLoader::new(DisbursementsOfRecipient { services: s() }, spawn))
        .data(DataLoader::new(VerifiedCountLoader { services: s() }, spawn))
        .data(DataLoader::new(ServedCountLoader { services: s() }, spawn))
        .data(DataLoader::new(FlagsLoader { services: s() }, spawn))
        .data(DataLoader::new(HistoryLoader { services: s() }, spawn));
    req
}
