// Placeholder for packages that have no benchmark yet: says so instead of pretending.
console.log('no benchmark in this package yet');
