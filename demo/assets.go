package demo

// Asset is one asset of the demo catalog together with the market figures
// its generated history is anchored at.
type Asset struct {
	// Rank is the position by market cap, 1 to 100.
	Rank int
	// ID is the CoinGecko id of the asset, e.g. "bitcoin".
	ID string
	// Symbol is the ticker in upper case, e.g. "BTC".
	Symbol string
	// Name is the display name.
	Name string
	// Category is one of the Category* constants.
	Category string
	// Price is the USD price the newest minute candle closes at.
	Price float64
	// Supply is the circulating supply in units of the asset.
	Supply float64
	// Volume24h is the USD value traded over 24 hours.
	Volume24h float64
}

// Assets returns the demo catalog: the 100 largest crypto assets by market
// capitalisation as of late November 2025, in rank order, with their real
// CoinGecko ids, symbols and names and rounded market figures of that time
// (price in USD, circulating supply, 24 h volume in USD). Ranks follow
// price times supply.
//
// Wrapped and liquid-staking tokens (WBTC, stETH, wstETH, weETH, …) and
// gold-backed tokens are left out: their prices mirror another asset or a
// commodity, and a catalog of distinct markets is what a demo needs. Symbols
// are unique, as the asset(symbol:) lookup expects.
//
// Each call returns a fresh slice that the caller may modify.
func Assets() []Asset {
	return []Asset{
		{1, "bitcoin", "BTC", "Bitcoin", CategoryLayer1, 88400, 19.955e6, 62e9},
		{2, "ethereum", "ETH", "Ethereum", CategoryLayer1, 2950, 120.7e6, 24e9},
		{3, "tether", "USDT", "Tether", CategoryStablecoin, 1, 184.5e9, 95e9},
		{4, "ripple", "XRP", "XRP", CategoryLayer1, 2.22, 60.2e9, 4.5e9},
		{5, "binancecoin", "BNB", "BNB", CategoryExchangeToken, 870, 137.7e6, 2.1e9},
		{6, "solana", "SOL", "Solana", CategoryLayer1, 138, 556e6, 5.2e9},
		{7, "usd-coin", "USDC", "USDC", CategoryStablecoin, 1, 75.6e9, 13e9},
		{8, "tron", "TRX", "TRON", CategoryLayer1, 0.278, 94.7e9, 650e6},
		{9, "dogecoin", "DOGE", "Dogecoin", CategoryMeme, 0.152, 151.4e9, 1.6e9},
		{10, "cardano", "ADA", "Cardano", CategoryLayer1, 0.425, 36.6e9, 750e6},
		{11, "hyperliquid", "HYPE", "Hyperliquid", CategoryDeFi, 34.5, 337e6, 350e6},
		{12, "bitcoin-cash", "BCH", "Bitcoin Cash", CategoryLayer1, 545, 19.95e6, 450e6},
		{13, "chainlink", "LINK", "Chainlink", CategoryOracle, 12.9, 697e6, 650e6},
		{14, "leo-token", "LEO", "LEO Token", CategoryExchangeToken, 9.4, 922e6, 3e6},
		{15, "usds", "USDS", "USDS", CategoryStablecoin, 1, 8.1e9, 30e6},
		{16, "stellar", "XLM", "Stellar", CategoryLayer1, 0.245, 32.2e9, 250e6},
		{17, "zcash", "ZEC", "Zcash", CategoryPrivacy, 480, 16.3e6, 1.2e9},
		{18, "ethena-usde", "USDE", "Ethena USDe", CategoryStablecoin, 1, 7.4e9, 150e6},
		{19, "monero", "XMR", "Monero", CategoryPrivacy, 395, 18.45e6, 120e6},
		{20, "whitebit", "WBT", "WhiteBIT Coin", CategoryExchangeToken, 46, 144e6, 60e6},
		{21, "litecoin", "LTC", "Litecoin", CategoryLayer1, 84, 76.6e6, 450e6},
		{22, "hedera-hashgraph", "HBAR", "Hedera", CategoryLayer1, 0.145, 42.4e9, 200e6},
		{23, "avalanche-2", "AVAX", "Avalanche", CategoryLayer1, 14.1, 429e6, 450e6},
		{24, "sui", "SUI", "Sui", CategoryLayer1, 1.62, 3.72e9, 700e6},
		{25, "shiba-inu", "SHIB", "Shiba Inu", CategoryMeme, 0.0000085, 589e12, 120e6},
		{26, "dai", "DAI", "Dai", CategoryStablecoin, 1, 5e9, 150e6},
		{27, "uniswap", "UNI", "Uniswap", CategoryDeFi, 6.9, 630e6, 350e6},
		{28, "polkadot", "DOT", "Polkadot", CategoryLayer1, 2.55, 1.63e9, 200e6},
		{29, "crypto-com-chain", "CRO", "Cronos", CategoryExchangeToken, 0.108, 37.5e9, 25e6},
		{30, "world-liberty-financial", "WLFI", "World Liberty Financial", CategoryDeFi, 0.148, 27.3e9, 250e6},
		{31, "the-open-network", "TON", "Toncoin", CategoryLayer1, 1.58, 2.5e9, 110e6},
		{32, "paypal-usd", "PYUSD", "PayPal USD", CategoryStablecoin, 1, 3.8e9, 100e6},
		{33, "mantle", "MNT", "Mantle", CategoryLayer2, 1.12, 3.25e9, 120e6},
		{34, "bittensor", "TAO", "Bittensor", CategoryAI, 285, 9.9e6, 160e6},
		{35, "usd1-wlfi", "USD1", "USD1", CategoryStablecoin, 1, 2.8e9, 1.2e9},
		{36, "aave", "AAVE", "Aave", CategoryDeFi, 172, 15.25e6, 250e6},
		{37, "bitget-token", "BGB", "Bitget Token", CategoryExchangeToken, 3.55, 700e6, 60e6},
		{38, "internet-computer", "ICP", "Internet Computer", CategoryLayer1, 4.4, 543e6, 180e6},
		{39, "near", "NEAR", "NEAR Protocol", CategoryLayer1, 1.85, 1.28e9, 200e6},
		{40, "okb", "OKB", "OKB", CategoryExchangeToken, 108, 21e6, 15e6},
		{41, "aster-2", "ASTER", "Aster", CategoryDeFi, 1.08, 2e9, 450e6},
		{42, "ethereum-classic", "ETC", "Ethereum Classic", CategoryLayer1, 13.4, 154e6, 100e6},
		{43, "ethena", "ENA", "Ethena", CategoryDeFi, 0.27, 7.4e9, 300e6},
		{44, "pi-network", "PI", "Pi Network", CategoryLayer1, 0.23, 8.3e9, 30e6},
		{45, "pepe", "PEPE", "Pepe", CategoryMeme, 0.0000045, 420.69e12, 450e6},
		{46, "aptos", "APT", "Aptos", CategoryLayer1, 2.35, 730e6, 110e6},
		{47, "worldcoin-wld", "WLD", "Worldcoin", CategoryAI, 0.62, 2.45e9, 150e6},
		{48, "ondo-finance", "ONDO", "Ondo", CategoryDeFi, 0.48, 3.16e9, 120e6},
		{49, "kucoin-shares", "KCS", "KuCoin Token", CategoryExchangeToken, 11.3, 128e6, 5e6},
		{50, "polygon-ecosystem-token", "POL", "POL (ex-MATIC)", CategoryLayer2, 0.135, 10.55e9, 80e6},
		{51, "kaspa", "KAS", "Kaspa", CategoryLayer1, 0.052, 26.8e9, 40e6},
		{52, "sky", "SKY", "Sky", CategoryDeFi, 0.058, 23e9, 25e6},
		{53, "cosmos", "ATOM", "Cosmos Hub", CategoryLayer1, 2.6, 470e6, 90e6},
		{54, "gatechain-token", "GT", "Gate", CategoryExchangeToken, 10.5, 115e6, 15e6},
		{55, "algorand", "ALGO", "Algorand", CategoryLayer1, 0.135, 8.8e9, 50e6},
		{56, "arbitrum", "ARB", "Arbitrum", CategoryLayer2, 0.215, 5.5e9, 180e6},
		{57, "official-trump", "TRUMP", "Official Trump", CategoryMeme, 5.9, 200e6, 200e6},
		{58, "pump-fun", "PUMP", "Pump.fun", CategoryDeFi, 0.0033, 354e9, 200e6},
		{59, "vechain", "VET", "VeChain", CategoryLayer1, 0.0135, 86e9, 30e6},
		{60, "quant-network", "QNT", "Quant", CategoryInfrastructure, 80, 14.5e6, 25e6},
		{61, "filecoin", "FIL", "Filecoin", CategoryStorage, 1.6, 720e6, 150e6},
		{62, "xdce-crowd-sale", "XDC", "XDC Network", CategoryLayer1, 0.058, 17.8e9, 20e6},
		{63, "ripple-usd", "RLUSD", "Ripple USD", CategoryStablecoin, 1, 1e9, 50e6},
		{64, "flare-networks", "FLR", "Flare", CategoryLayer1, 0.0128, 78e9, 10e6},
		{65, "sei-network", "SEI", "Sei", CategoryLayer1, 0.145, 6.3e9, 80e6},
		{66, "render-token", "RENDER", "Render", CategoryAI, 1.75, 518e6, 60e6},
		{67, "first-digital-usd", "FDUSD", "First Digital USD", CategoryStablecoin, 1, 850e6, 3e9},
		{68, "bonk", "BONK", "Bonk", CategoryMeme, 0.0000095, 82e12, 90e6},
		{69, "starknet", "STRK", "Starknet", CategoryLayer2, 0.18, 4.3e9, 150e6},
		{70, "pancakeswap-token", "CAKE", "PancakeSwap", CategoryDeFi, 2.25, 340e6, 100e6},
		{71, "dash", "DASH", "Dash", CategoryPrivacy, 60, 12.5e6, 200e6},
		{72, "pudgy-penguins", "PENGU", "Pudgy Penguins", CategoryMeme, 0.0115, 62.9e9, 200e6},
		{73, "jupiter-exchange-solana", "JUP", "Jupiter", CategoryDeFi, 0.23, 3.1e9, 40e6},
		{74, "nexo", "NEXO", "NEXO", CategoryDeFi, 1.1, 646e6, 10e6},
		{75, "morpho", "MORPHO", "Morpho", CategoryDeFi, 1.75, 360e6, 20e6},
		{76, "virtual-protocol", "VIRTUAL", "Virtuals Protocol", CategoryAI, 0.95, 656e6, 100e6},
		{77, "optimism", "OP", "Optimism", CategoryLayer2, 0.33, 1.85e9, 90e6},
		{78, "immutable-x", "IMX", "Immutable", CategoryGaming, 0.31, 1.95e9, 30e6},
		{79, "aerodrome-finance", "AERO", "Aerodrome Finance", CategoryDeFi, 0.65, 900e6, 40e6},
		{80, "curve-dao-token", "CRV", "Curve DAO", CategoryDeFi, 0.42, 1.39e9, 80e6},
		{81, "injective-protocol", "INJ", "Injective", CategoryDeFi, 5.8, 100e6, 60e6},
		{82, "spx6900", "SPX", "SPX6900", CategoryMeme, 0.62, 931e6, 20e6},
		{83, "fetch-ai", "FET", "Artificial Superintelligence Alliance", CategoryAI, 0.24, 2.35e9, 70e6},
		{84, "lido-dao", "LDO", "Lido DAO", CategoryDeFi, 0.62, 895e6, 60e6},
		{85, "tezos", "XTZ", "Tezos", CategoryLayer1, 0.52, 1.06e9, 20e6},
		{86, "celestia", "TIA", "Celestia", CategoryInfrastructure, 0.65, 830e6, 60e6},
		{87, "blockstack", "STX", "Stacks", CategoryLayer2, 0.29, 1.77e9, 25e6},
		{88, "the-graph", "GRT", "The Graph", CategoryInfrastructure, 0.047, 10.7e9, 30e6},
		{89, "kaia", "KAIA", "Kaia", CategoryLayer1, 0.085, 5.9e9, 10e6},
		{90, "floki", "FLOKI", "FLOKI", CategoryMeme, 0.000048, 9.6e12, 50e6},
		{91, "iota", "IOTA", "IOTA", CategoryLayer1, 0.11, 4.1e9, 10e6},
		{92, "bittorrent", "BTT", "BitTorrent", CategoryStorage, 0.00000045, 986e12, 20e6},
		{93, "pyth-network", "PYTH", "Pyth Network", CategoryOracle, 0.075, 5.75e9, 30e6},
		{94, "the-sandbox", "SAND", "The Sandbox", CategoryGaming, 0.16, 2.6e9, 40e6},
		{95, "pendle", "PENDLE", "Pendle", CategoryDeFi, 2.5, 165e6, 50e6},
		{96, "syrup", "SYRUP", "Maple Finance", CategoryDeFi, 0.36, 1.14e9, 20e6},
		{97, "jasmycoin", "JASMY", "JasmyCoin", CategoryInfrastructure, 0.0082, 49.4e9, 20e6},
		{98, "ethereum-name-service", "ENS", "Ethereum Name Service", CategoryInfrastructure, 10.8, 37e6, 40e6},
		{99, "gala", "GALA", "GALA", CategoryGaming, 0.0085, 46e9, 40e6},
		{100, "helium", "HNT", "Helium", CategoryInfrastructure, 2.1, 185e6, 8e6},
	}
}
