// Typed operations from the API's committed schema: `npm run codegen` writes src/generated/.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: '../tests/graphql_api/snapshots/schema.graphql',
  documents: 'src/graphql/*.graphql',
  generates: {
    'src/generated/graphql.ts': {
      plugins: ['typescript-operations', 'typed-document-node'],
      config: {
        enumsAsTypes: true,
        avoidOptionals: { field: true, inputValue: false, object: true },
        scalars: { DateTime: 'string', Time: 'string', JSON: 'unknown', ID: 'string' },
        useTypeImports: true,
      },
    },
  },
  hooks: {},
};
export default config;
