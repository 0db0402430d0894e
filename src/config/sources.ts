/**
 * The registry of source section schemas: one entry per connector. `sources[]` in the config is
 * a union discriminated on `type` over this list, so a new connector adds ONE line here (and one
 * in src/engine/sources.ts). If a connector is missing here, its `type` is rejected as unknown;
 * if two entries share a `type` literal, zod refuses to build the union at import time.
 */
import { z } from 'zod';
import { scarfSourceSchema } from '../../connectors/scarf/config.js';
import { replicatedSourceSchema } from '../../connectors/replicated/config.js';
import { marketplaceSourceSchema } from '../../connectors/marketplace/config.js';

export const SOURCE_SCHEMAS = [scarfSourceSchema, replicatedSourceSchema, marketplaceSourceSchema] as const;

/** One `sources[]` entry, whatever its connector. */
export const sourceSchema = z.discriminatedUnion('type', SOURCE_SCHEMAS);

/** The connector types a config may name, in registry order. */
export const SOURCE_TYPES: readonly string[] = SOURCE_SCHEMAS.map((s) => s.shape.type.value);
