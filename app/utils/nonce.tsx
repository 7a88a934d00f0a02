import { createContext, useContext } from 'react';

// The CSP nonce of this response, made by the HTTP server; empty in the browser after hydration.
const NonceContext = createContext('');
export const NonceProvider = NonceContext.Provider;
export const useNonce = () => useContext(NonceContext);
