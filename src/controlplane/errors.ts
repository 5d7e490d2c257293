// Stable error codes of the control plane's xDS edge: why a stream was refused. Mapped to a gRPC
// status only where the stream is answered (stream-base.ts); messages name the node id and field.

export const ControlPlaneErrorCodes = {
  WEFT_E_XDS_INCONSISTENT: "a proxy's translated set names a cluster, EDS set, route table or secret the set does not hold; it is not published and the proxy keeps its last good set (/debug/consistencyz)",
  WEFT_E_NODE_INVALID: "a stream's node (id or registration metadata) is malformed or over a size limit (INVALID_ARGUMENT; nothing is registered)",
  WEFT_E_NODE_DUPLICATE: 'a stream names a node id that another live stream holds, from another peer or with another registration (ALREADY_EXISTS)',
  WEFT_E_NODE_LIMIT: 'the registry is at its limit of registrations, in all or for the peer host (RESOURCE_EXHAUSTED)',
  WEFT_E_AUTHZ_UNSUPPORTED: 'an AuthorizationPolicy (or one rule of it) uses what Weft cannot enforce (CUSTOM, an unknown field or condition key); it is left out, as istiod does',
  WEFT_E_JWKS_FETCH: 'a RequestAuthentication jwksUri could not be fetched or parsed (timeout, size cap, status, JSON); the last good key set keeps serving',
} as const;

export type ControlPlaneErrorCode = keyof typeof ControlPlaneErrorCodes;
