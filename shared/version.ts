/** The platform's release, reported by `GET /v2` on the origin and on the edge (package.json's version). */
export const AISERVE_VERSION = '0.1.0';
