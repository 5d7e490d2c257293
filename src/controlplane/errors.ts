// Stable error codes of the control plane's xDS edge: why a stream was refused. Mapped to a gRPC
// status only where the stream is answered (stream-base.ts); messages name the node id and field.

export const ControlPlaneErrorCodes = {
  WEFT_E_XDS_INCONSISTENT: "a proxy's translated set names a cluster, EDS set, route table or secret the set does not hold; it is not published and the proxy keeps its last good set (/debug/consistencyz)",
  WEFT_E_NODE_INVALID: "a stream's node (id or registration metadata) is malformed or over a size limit (INVALID_ARGUMENT; nothing is registered)",
  WEFT_E_NODE_DUPLICATE: 'a stream names a node id that another live stream holds, from another peer or with another registration (ALREADY_EXISTS)',
  WEFT_E_NODE_LIMIT: 'the registry is at its limit of registrations, in all or for the peer host (RESOURCE_EXHAUSTED)',
  WEFT_E_UNAUTHENTICATED: 'a caller presented no credential where one is required, or one that does not verify (bad token, certificate without a SPIFFE ID) (UNAUTHENTICATED)',
  WEFT_E_IDENTITY_MISMATCH: "a caller asked to register, get config or a certificate for an identity its credential does not prove; logged with claimed and proven identity (PERMISSION_DENIED)",
  WEFT_E_CSR_INVALID: 'a certificate signing request is malformed, badly signed, asks for an unsupported lifetime or names a field the CA does not implement (INVALID_ARGUMENT)',
  WEFT_E_AUTHZ_UNSUPPORTED: 'an AuthorizationPolicy or SMI TrafficTarget (or one rule of it) uses what Weft cannot enforce (CUSTOM, an unknown field or condition key, a real regex, a missing route) or names what does not exist; it is left out, as istiod does',
  WEFT_E_JWKS_FETCH: 'a RequestAuthentication jwksUri could not be fetched or parsed (timeout, size cap, status, JSON); the last good key set keeps serving',
} as const;

export type ControlPlaneErrorCode = keyof typeof ControlPlaneErrorCodes;
