// Runs in every test worker before its test file.
process.env.NODE_ENV = 'test';
