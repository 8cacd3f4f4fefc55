module.exports = { preload: [require.resolve('tsx/cjs')] };
