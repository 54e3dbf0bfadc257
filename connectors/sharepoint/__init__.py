"""The register in SharePoint lists through Microsoft Graph: auth, the Graph session, the list schema,
provisioning and (separately) the `Register` adapter."""
