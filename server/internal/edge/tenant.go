package edge

// TenantID is the one tenant of a self-hosted edge, shown where Basis Theory shows its tenant.
const TenantID = "00000000-0000-4000-8000-000000000000"
