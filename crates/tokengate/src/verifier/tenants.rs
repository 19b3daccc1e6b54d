//! Any tenant of an issuer template (`Issuer::any_tenant_matching_claim`): the tenant is read
//! from the token's `iss`, must equal the token's tenant claim, and gets keys of its own,
//! fetched for its concrete issuer — bounded: at most `max_tenants` key sets kept (least
//! recently used go first), and at most [`NEW_TENANTS_PER_MINUTE`] tenants never seen before
//! per minute (a flood of invented tenant ids costs that many fetches, then 503 for new ones
//! until the minute passes; known tenants are unaffected). `docs/security.md`, "Issuer
//! templates".

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use super::keys::IssuerKeys;
use crate::algorithm::AlgorithmSet;
use crate::clock::Clock;
use crate::error::{ConfigError, Error, ErrorKind};
use crate::issuer::KeySource;
use crate::remote::{RemoteKeys, RemoteSettings};

/// New tenants (key sets never fetched before) admitted per minute.
pub(crate) const NEW_TENANTS_PER_MINUTE: u32 = 10;

pub(crate) struct AnyTenant {
    prefix: Box<str>,
    suffix: Box<str>,
    placeholder: Box<str>,
    /// The claim that must hold the tenant of `iss` (Entra's `tid`).
    pub(crate) claim: Box<str>,
    source: KeySource,
    algorithms: AlgorithmSet,
    settings: Arc<RemoteSettings>,
    clock: Arc<dyn Clock>,
    keys: moka::sync::Cache<Box<str>, Arc<IssuerKeys>>,
    /// The minute (clock seconds / 60) and how many new tenants it saw.
    budget: Mutex<(u64, u32)>,
}

impl fmt::Debug for AnyTenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyTenant")
            .field(
                "template",
                &format_args!("{}{}{}", self.prefix, self.placeholder, self.suffix),
            )
            .field("claim", &self.claim)
            .finish_non_exhaustive()
    }
}

impl AnyTenant {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        template: &str,
        (start, end): (usize, usize),
        claim: &str,
        max_tenants: u64,
        source: KeySource,
        algorithms: AlgorithmSet,
        settings: Arc<RemoteSettings>,
        clock: Arc<dyn Clock>,
    ) -> Result<AnyTenant, ConfigError> {
        let any = AnyTenant {
            prefix: template[..start].into(),
            suffix: template[end..].into(),
            placeholder: template[start..end].into(),
            claim: claim.into(),
            source,
            algorithms,
            settings,
            clock,
            keys: moka::sync::Cache::new(max_tenants),
            budget: Mutex::new((0, 0)),
        };
        // The key source must be remote and pass the URL policy for a sample tenant.
        any.endpoint("tenant")?;
        Ok(any)
    }

    /// The tenant `iss` names, when it fits the template (a tenant id: letters, digits, `-`,
    /// `_`, `.`, `~`).
    pub(crate) fn tenant_of<'a>(&self, iss: &'a str) -> Option<&'a str> {
        let tenant = iss
            .strip_prefix(&*self.prefix)?
            .strip_suffix(&*self.suffix)?;
        crate::issuer::valid_tenant(tenant).then_some(tenant)
    }

    fn endpoint(&self, tenant: &str) -> Result<crate::remote::Endpoint, ConfigError> {
        let iss = format!("{}{tenant}{}", self.prefix, self.suffix);
        self.source
            .clone()
            .for_tenant(&self.placeholder, tenant)
            .endpoint(&iss)?
            .ok_or_else(|| {
                ConfigError::new(
                    crate::error::ConfigErrorKind::InvalidSetting,
                    "any_tenant_matching_claim needs remote keys (discovery or a JWKS URL)",
                )
            })
    }

    /// The keys of `tenant`: kept, or made now within the new-tenant budget.
    pub(crate) fn keys(&self, tenant: &str) -> Result<Arc<IssuerKeys>, Error> {
        if let Some(keys) = self.keys.get(tenant) {
            return Ok(keys);
        }
        {
            let minute = self.clock.now_unix() / 60;
            let mut budget = self.budget.lock().unwrap_or_else(PoisonError::into_inner);
            if budget.0 != minute {
                *budget = (minute, 0);
            }
            if budget.1 >= NEW_TENANTS_PER_MINUTE {
                return Err(Error::keys_unavailable(std::time::Duration::from_secs(60)));
            }
            budget.1 += 1;
        }
        let endpoint = self
            .endpoint(tenant)
            .map_err(|_| Error::new(ErrorKind::InvalidIssuer, "the tenant makes no valid URL"))?;
        let iss: Arc<str> = format!("{}{tenant}{}", self.prefix, self.suffix).into();
        let keys = Arc::new(IssuerKeys::remote(RemoteKeys::new(
            iss,
            endpoint,
            self.algorithms,
            Arc::clone(&self.settings),
            Arc::clone(&self.clock),
        )));
        Ok(self.keys.get_with(tenant.into(), || keys))
    }
}
