// cbor-x's optional native string extractor cannot load inside a single executable;
// null (not a truthy stub) keeps cbor-x on its pure-JS decoder without a warning.
module.exports = null;
