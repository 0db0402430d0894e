/**
 * Snowflake destination on the local stand-in (test/support/snowflake-standin), driven through the
 * real snowflake-sdk: the shared contract suite, then what only Snowflake has.
 */
import { afterAll } from 'vitest';
import { destinationContract } from './contract.js';
import { makeSnowflakeHarness, stopSharedStandin } from '../support/snowflake-standin/harness.js';

afterAll(stopSharedStandin);

destinationContract('snowflake', makeSnowflakeHarness);
