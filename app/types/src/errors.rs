//! What kind of failure a service error is, and the one table that turns a
//! kind into an HTTP status and an `error` code. The service layer names
//! kinds (no HTTP there); the admin API, the developer API and the console's
//! server functions all answer with what this table says.

/// The kind of a failed request, independent of transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The thing named does not exist (or is not visible to the caller).
    NotFound,
    /// The request clashes with existing state (a duplicate name, …).
    Conflict,
    /// The request is malformed or its values are not acceptable.
    Invalid,
    /// No valid credentials: sign in, or send a valid bearer token.
    Unauthenticated,
    /// Authenticated, but not allowed to do this.
    Forbidden,
    /// Too many attempts: try again later.
    Throttled,
    /// A third party Writ called refused or failed.
    Upstream,
    /// The server could not complete the request.
    Internal,
}

/// Which API answers: they spell some kinds differently on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// The admin REST API (`/api/…`).
    Admin,
    /// The developer API the PAM client calls (`/v2/{instanceId}/…`):
    /// OAuth-style codes (RFC 6750 `invalid_token`, RFC 6749 `access_denied`).
    Developer,
}

impl ErrorKind {
    pub const ALL: [Self; 8] = [
        Self::NotFound,
        Self::Conflict,
        Self::Invalid,
        Self::Unauthenticated,
        Self::Forbidden,
        Self::Throttled,
        Self::Upstream,
        Self::Internal,
    ];

    /// The HTTP status of a response of this kind.
    pub fn http_status(self) -> u16 {
        match self {
            Self::Invalid => 400,
            Self::Unauthenticated => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::Conflict => 409,
            Self::Throttled => 429,
            Self::Internal => 500,
            Self::Upstream => 502,
        }
    }

    /// The `error` code a response of this kind carries in `api`.
    ///
    /// Only `Unauthenticated` differs between the two APIs. The admin API
    /// never answers `Forbidden` or `Upstream`, and the developer API never
    /// answers `Conflict` or `Throttled`; those codes are the shared ones.
    pub fn code(self, api: Api) -> &'static str {
        match (self, api) {
            (Self::Unauthenticated, Api::Admin) => "unauthorized",
            (Self::Unauthenticated, Api::Developer) => "invalid_token",
            (Self::NotFound, _) => "not_found",
            (Self::Conflict, _) => "conflict",
            (Self::Invalid, _) => "invalid_request",
            (Self::Forbidden, _) => "access_denied",
            (Self::Throttled, _) => "throttled",
            (Self::Upstream, _) => "upstream_error",
            (Self::Internal, _) => "server_error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_status_and_codes() {
        use ErrorKind::*;
        // (kind, status, admin API code, developer API code)
        let table = [
            (NotFound, 404, "not_found", "not_found"),
            (Conflict, 409, "conflict", "conflict"),
            (Invalid, 400, "invalid_request", "invalid_request"),
            (Unauthenticated, 401, "unauthorized", "invalid_token"),
            (Forbidden, 403, "access_denied", "access_denied"),
            (Throttled, 429, "throttled", "throttled"),
            (Upstream, 502, "upstream_error", "upstream_error"),
            (Internal, 500, "server_error", "server_error"),
        ];
        assert_eq!(table.len(), ErrorKind::ALL.len());
        for (kind, status, admin, developer) in table {
            assert_eq!(kind.http_status(), status, "{kind:?}");
            assert_eq!(kind.code(Api::Admin), admin, "{kind:?}");
            assert_eq!(kind.code(Api::Developer), developer, "{kind:?}");
        }
        for kind in ErrorKind::ALL {
            assert!(table.iter().any(|row| row.0 == kind), "{kind:?} untested");
        }
    }
}
