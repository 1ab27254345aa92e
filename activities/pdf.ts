// The PDF plumbing lives in documents/ (the API renders statements and claim dossiers with
// it too, and api/ imports nothing from activities/); the letters keep importing it here.
export * from '../documents/pdf';
